"""Used-car history (장안평 중고차): VehicleHistory as domain operations, reads, reports and verification."""

"""ZeroPay-linked mileage (제로페이 연계 마일리지 통합): CivicMileage contract, service, API, CLI."""

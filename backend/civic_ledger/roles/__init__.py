"""Agency roles: which key may do what on which contract, granted by the city admin."""

"""EIP-712 message types of LaborRecords (each hashes to the contract's constant; tested)."""

from __future__ import annotations

LABOR_CONTRACT_TYPES = {
    "LaborContract": [
        {"name": "employer", "type": "address"},
        {"name": "worker", "type": "address"},
        {"name": "documentHash", "type": "bytes32"},
        {"name": "workplaceId", "type": "bytes32"},
        {"name": "hourlyWage", "type": "uint32"},
        {"name": "dailyMinutes", "type": "uint16"},
        {"name": "weeklyMinutes", "type": "uint16"},
        {"name": "workDays", "type": "uint8"},
        {"name": "startDate", "type": "uint32"},
        {"name": "endDate", "type": "uint32"},
        {"name": "payCycle", "type": "uint8"},
        {"name": "payDay", "type": "uint8"},
        {"name": "breakMinutes", "type": "uint16"},
        {"name": "fiveOrMoreEmployees", "type": "bool"},
        {"name": "deadline", "type": "uint256"},
    ]
}
RECORD_WEEK_TYPES = {
    "RecordWeek": [
        {"name": "contractId", "type": "bytes32"},
        {"name": "weekStart", "type": "uint32"},
        {"name": "minutesWorked", "type": "uint32"},
        {"name": "daysWorked", "type": "uint8"},
        {"name": "entriesRoot", "type": "bytes32"},
        {"name": "revision", "type": "uint8"},
        {"name": "deadline", "type": "uint256"},
    ]
}
CONFIRM_WEEK_TYPES = {
    "ConfirmWeek": [
        {"name": "contractId", "type": "bytes32"},
        {"name": "weekStart", "type": "uint32"},
        {"name": "revision", "type": "uint8"},
        {"name": "minutesWorked", "type": "uint32"},
        {"name": "daysWorked", "type": "uint8"},
        {"name": "entriesRoot", "type": "bytes32"},
        {"name": "deadline", "type": "uint256"},
    ]
}
DISPUTE_WEEK_TYPES = {
    "DisputeWeek": [
        {"name": "contractId", "type": "bytes32"},
        {"name": "weekStart", "type": "uint32"},
        {"name": "revision", "type": "uint8"},
        {"name": "claimedMinutes", "type": "uint32"},
        {"name": "claimedDays", "type": "uint8"},
        {"name": "reasonHash", "type": "bytes32"},
        {"name": "deadline", "type": "uint256"},
    ]
}
RECORD_WAGE_STATEMENT_TYPES = {
    "RecordWageStatement": [
        {"name": "contractId", "type": "bytes32"},
        {"name": "periodStart", "type": "uint32"},
        {"name": "periodEnd", "type": "uint32"},
        {"name": "paymentDate", "type": "uint32"},
        {"name": "statementHash", "type": "bytes32"},
        {"name": "grossPay", "type": "uint64"},
        {"name": "basePay", "type": "uint64"},
        {"name": "holidayPay", "type": "uint64"},
        {"name": "overtimePay", "type": "uint64"},
        {"name": "otherPay", "type": "uint64"},
        {"name": "deductions", "type": "uint64"},
        {"name": "revision", "type": "uint8"},
        {"name": "deadline", "type": "uint256"},
    ]
}
SET_MINIMUM_WAGE_TYPES = {
    "SetMinimumWage": [
        {"name": "year", "type": "uint16"},
        {"name": "hourlyWage", "type": "uint32"},
        {"name": "office", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}

#: Python type definitions next to the contract constant each must hash to (tested).
TYPEHASH_CONSTANTS = {
    "LABOR_CONTRACT_TYPEHASH": ("LaborContract", LABOR_CONTRACT_TYPES),
    "RECORD_WEEK_TYPEHASH": ("RecordWeek", RECORD_WEEK_TYPES),
    "CONFIRM_WEEK_TYPEHASH": ("ConfirmWeek", CONFIRM_WEEK_TYPES),
    "DISPUTE_WEEK_TYPEHASH": ("DisputeWeek", DISPUTE_WEEK_TYPES),
    "RECORD_WAGE_STATEMENT_TYPEHASH": ("RecordWageStatement", RECORD_WAGE_STATEMENT_TYPES),
    "SET_MINIMUM_WAGE_TYPEHASH": ("SetMinimumWage", SET_MINIMUM_WAGE_TYPES),
}

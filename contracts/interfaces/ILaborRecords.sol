// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Part-time worker protection (시간제 노동자 권익보호)
/// @notice Labour contracts co-signed by employer and worker, weekly work logs confirmed or
/// disputed by the worker, and wage statements, so that a worker can later prove what was agreed,
/// what was worked and what was paid. The compliance checks (minimum wage, weekly holiday pay,
/// overtime, night and holiday premiums, breaks, late payment) run off chain on these records;
/// the contract itself rejects a contract that lacks a required term or pays below the minimum
/// wage of its start year, and a week whose shifts are not shifts of that week.
/// @dev No personal data on chain: the worker is the address of an active citizen (see
/// {ICitizenRegistry}), the employer an address, the document, the workplace and the wage
/// statement are hashes; names and texts stay off chain.
///
/// Dates are calendar dates written as the number `yyyymmdd` (e.g. 20260302). Day bitmasks
/// use bit 0 = Monday … bit 6 = Sunday; a work week starts on a Monday (`weekStart`), and bit `i`
/// of `daysWorked` is the day `weekStart + i`.
///
/// Every action is an EIP-712 message (domain name "LaborRecords", version "1") signed by the
/// actor and relayed by anyone; `msg.sender` is never trusted. Replay protection comes from the
/// state each message acts on, not from nonces: a contract id can be registered once; a week or
/// a statement message names the `revision` it creates or acts on, and a week moves only
/// Recorded → Confirmed | Disputed (→ Recorded again by a new revision after a dispute). Only the
/// minimum-wage table update, which has no such state, uses a per-signer nonce.
interface ILaborRecords {
    /// @notice Pay cycle of a contract (0 is invalid).
    enum PayCycle {
        None,
        /// @dev 1: paid weekly; `payDay` is the weekday 1 (Mon) … 7 (Sun); the pay period is the work week
        Weekly,
        /// @dev 2: paid monthly; `payDay` is the day of the month 1 … 31 of the month after the period
        Monthly
    }

    /// @notice State of a logged week.
    enum WeekStatus {
        None,
        /// @dev 1: recorded by the employer, awaiting the worker
        Recorded,
        /// @dev 2: confirmed by the worker (final)
        Confirmed,
        /// @dev 3: disputed by the worker; the employer may record a new revision
        Disputed
    }

    /// @notice The terms of a labour contract that the checks need; both parties sign them as
    /// `LaborContract(address employer,address worker,bytes32 documentHash,bytes32 workplaceId,uint32 hourlyWage,uint16 dailyMinutes,uint16 weeklyMinutes,uint8 workDays,uint32 startDate,uint32 endDate,uint8 payCycle,uint8 payDay,uint16 breakMinutes,bool fiveOrMoreEmployees,uint256 deadline)`.
    /// @param employer the employer's address (a business key)
    /// @param worker the worker's address (an active citizen)
    /// @param documentHash hash of the full signed contract document (keccak-256 or SHA-256)
    /// @param workplaceId salted hash identifying the workplace
    /// @param hourlyWage KRW per hour
    /// @param dailyMinutes contracted working time per working day, in minutes (1 … 1440), breaks excluded
    /// @param weeklyMinutes contracted working time per week, in minutes (1 … 10080); 870 = 14.5 h
    /// @param workDays contracted working days, bit 0 = Monday … bit 6 = Sunday (1 … 127)
    /// @param startDate first day of the contract, yyyymmdd
    /// @param endDate last day of the contract, yyyymmdd (99991231 for an open-ended contract)
    /// @param payCycle {PayCycle} code 1 or 2
    /// @param payDay weekday 1 … 7 (weekly) or day of month 1 … 31 (monthly)
    /// @param breakMinutes contracted break per working day, in minutes (0 … 1440); unpaid. The
    ///        Labour Standards Act Art. 54 requires 30 min per 4 h worked and 1 h per 8 h; a
    ///        contract below that is registered (the terms are evidence) and reported by the checks
    /// @param fiveOrMoreEmployees whether the workplace ordinarily has five or more employees: it
    ///        decides whether the overtime, night and holiday premiums (LSA Art. 56, Part-time
    ///        Workers Act Art. 6(3)) apply; signed by both parties with the rest of the terms
    struct Terms {
        address employer;
        address worker;
        bytes32 documentHash;
        bytes32 workplaceId;
        uint32 hourlyWage;
        uint16 dailyMinutes;
        uint16 weeklyMinutes;
        uint8 workDays;
        uint32 startDate;
        uint32 endDate;
        uint8 payCycle;
        uint8 payDay;
        uint16 breakMinutes;
        bool fiveOrMoreEmployees;
    }

    /// @notice A registered contract, as returned by {contractOf} (all zero when unknown).
    struct LaborContract {
        address employer;
        uint32 hourlyWage;
        uint16 dailyMinutes;
        uint16 weeklyMinutes;
        uint8 workDays;
        uint8 payCycle;
        uint8 payDay;
        bool fiveOrMoreEmployees;
        address worker;
        uint32 startDate;
        uint32 endDate;
        uint16 breakMinutes;
        bytes32 documentHash;
    }

    /// @notice One shift of a work week (a daily entry). Break time is not working time.
    /// @param date the day the shift starts, yyyymmdd (within the week)
    /// @param startMinute minutes after that day's midnight the shift starts (0 … 1439)
    /// @param endMinute minutes after that day's midnight the shift ends; above 1440 for a shift
    ///        that ends the next day (22:00–06:00 is 1320–1800); at most `startMinute + 1440`
    /// @param breakMinutes unpaid break taken during the shift (less than the shift's length)
    /// @param holiday whether the day is a holiday (a paid weekly or public holiday) for this
    ///        worker: its hours are holiday work (LSA Art. 56(2))
    struct DayEntry {
        uint32 date;
        uint16 startMinute;
        uint16 endMinute;
        uint16 breakMinutes;
        bool holiday;
    }

    /// @notice A week's shifts, recorded by the employer. The contract derives the week's summary
    /// from the entries — `minutesWorked` (the sum of shift lengths minus breaks), `daysWorked`
    /// (bit i = `weekStart + i`) and `entriesRoot` — and the employer signs that summary as
    /// `RecordWeek(bytes32 contractId,uint32 weekStart,uint32 minutesWorked,uint8 daysWorked,bytes32 entriesRoot,uint8 revision,uint256 deadline)`.
    /// @param weekStart the Monday of the week, yyyymmdd
    /// @param revision 0 for the first record of the week, previous + 1 after a dispute
    /// @param entries the shifts, in time order and not overlapping (each starts at or after the
    ///        previous one ends); `entriesRoot` is their Merkle root, the root of OpenZeppelin's
    ///        `StandardMerkleTree.of(entries, ["uint32", "uint16", "uint16", "uint16", "bool"])`
    ///        (OpenZeppelin's npm merkle-tree: double-hashed leaves `abi.encode(date, startMinute,
    ///        endMinute, breakMinutes, holiday)`, sorted leaves, sorted-pair nodes), zero for a
    ///        week without entries
    struct WeekLog {
        uint32 weekStart;
        uint8 revision;
        DayEntry[] entries;
    }

    /// @notice A stored week, as returned by {weekOf}.
    struct Week {
        uint32 minutesWorked;
        uint8 daysWorked;
        WeekStatus status;
        uint8 revision;
        bytes32 entriesRoot;
    }

    /// @notice A wage statement for one pay period, signed by the employer as
    /// `RecordWageStatement(bytes32 contractId,uint32 periodStart,uint32 periodEnd,uint32 paymentDate,bytes32 statementHash,uint64 grossPay,uint64 basePay,uint64 holidayPay,uint64 overtimePay,uint64 otherPay,uint64 deductions,uint8 revision,uint256 deadline)`.
    /// All amounts in KRW; `grossPay = basePay + holidayPay + overtimePay + otherPay`.
    /// @param periodStart first day of the pay period, yyyymmdd (the key of the statement)
    /// @param periodEnd last day of the pay period, yyyymmdd
    /// @param paymentDate the day the wage was paid, yyyymmdd
    /// @param statementHash hash of the full statement document (calculation basis, deduction items)
    /// @param revision 0 for the first statement of the period, previous + 1 for a correction
    struct WageStatement {
        uint32 periodStart;
        uint32 periodEnd;
        uint32 paymentDate;
        bytes32 statementHash;
        uint64 grossPay;
        uint64 basePay;
        uint64 holidayPay;
        uint64 overtimePay;
        uint64 otherPay;
        uint64 deductions;
        uint8 revision;
    }

    /// @notice A stored statement, as returned by {statementOf} (components are in the event).
    struct StatementRecord {
        bytes32 statementHash;
        uint64 grossPay;
        uint64 deductions;
        uint32 periodEnd;
        uint32 paymentDate;
        uint8 revision;
        bool exists;
    }

    // ---------------------------------------------------------------- events

    /// @notice The minimum hourly wage of `year` was set to `hourlyWage` KRW by `office`
    /// (`office` is address(0) for the values preloaded at deployment).
    event MinimumWageSet(uint16 indexed year, uint32 hourlyWage, address indexed office);

    /// @notice A labour contract was registered with both signatures.
    event LaborContractRegistered(
        bytes32 indexed contractId, address indexed employer, address indexed worker, Terms terms
    );

    /// @notice The employer recorded (revision 0) or re-recorded a week, with its shifts (the
    /// checks of night, holiday and overtime work and of breaks need them; no personal data).
    event WeekRecorded(
        bytes32 indexed contractId,
        uint32 indexed weekStart,
        uint8 revision,
        uint32 minutesWorked,
        uint8 daysWorked,
        bytes32 entriesRoot,
        DayEntry[] entries
    );

    /// @notice The worker confirmed revision `revision` of the week.
    event WeekConfirmed(bytes32 indexed contractId, uint32 indexed weekStart, uint8 revision, address indexed worker);

    /// @notice The worker disputed revision `revision` of the week, claiming `claimedMinutes` on
    /// the days `claimedDays`; the reason text is off chain, hashed as `reasonHash`.
    event WeekDisputed(
        bytes32 indexed contractId,
        uint32 indexed weekStart,
        uint8 revision,
        uint32 claimedMinutes,
        uint8 claimedDays,
        bytes32 reasonHash,
        address indexed worker
    );

    /// @notice The employer recorded a wage statement (or a correction, `revision` > 0).
    event WageStatementRecorded(bytes32 indexed contractId, uint32 indexed periodStart, WageStatement statement);

    // ---------------------------------------------------------------- errors

    /// @notice An address argument was the zero address.
    /// @custom:http 422
    error LaborRecordsZeroAddress();
    /// @notice The signed message's `deadline` has passed.
    /// @custom:http 422
    error LaborRecordsSignatureExpired(uint256 deadline);
    /// @notice The signature is not a valid signature of the message by `expectedSigner`.
    /// @custom:http 403
    error LaborRecordsInvalidSignature(address expectedSigner);
    /// @notice `signer` does not hold `LABOR_OFFICE_ROLE`.
    /// @custom:http 403
    error LaborRecordsUnauthorizedOffice(address signer);
    /// @notice A legally required term is missing (zero); `term` names the field and `field` is its
    /// 1-based position in {Terms} (the number comes first so that the revert data can never be
    /// mistaken for an `Error(string)` reason by a client).
    /// @custom:http 422
    error LaborRecordsMissingTerm(uint8 field, string term);
    /// @notice A term has a value out of range; `term` names the field.
    /// @custom:http 422
    error LaborRecordsInvalidTerm(uint256 value, string term);
    /// @notice `weekStart` is not a Monday.
    /// @custom:http 422
    error LaborRecordsNotMonday(uint32 weekStart);
    /// @notice A minimum wage year before 2019 or after 9999.
    /// @custom:http 422
    error LaborRecordsInvalidYear(uint16 year);
    /// @notice `date` is not a yyyymmdd date.
    /// @custom:http 422
    error LaborRecordsInvalidDate(uint32 date);
    /// @notice The contract ends before it starts.
    /// @custom:http 422
    error LaborRecordsEndBeforeStart(uint32 startDate, uint32 endDate);
    /// @notice Employer and worker are the same address.
    /// @custom:http 422
    error LaborRecordsSelfEmployment(address account);
    /// @notice The worker is not the address of an active citizen.
    /// @custom:http 422
    error LaborRecordsWorkerNotCitizen(address worker);
    /// @notice The hourly wage is below the minimum wage of the contract's start year.
    /// @custom:http 422
    error LaborRecordsBelowMinimumWage(uint32 hourlyWage, uint32 minimumWage, uint16 year);
    /// @notice No minimum wage is known for `year` (before the first year of the table): a contract
    /// can start, and a week be recorded, only in a year with a minimum wage.
    /// @custom:http 422
    error LaborRecordsMinimumWageUnknown(uint16 year);
    /// @notice A contract between these parties for this document was registered before.
    /// @custom:http 409
    error LaborRecordsAlreadyRegistered(bytes32 contractId);
    /// @notice No contract has id `contractId`.
    /// @custom:http 404
    error LaborRecordsUnknownContract(bytes32 contractId);
    /// @notice The week or pay period lies outside the contract's dates.
    /// @custom:http 422
    error LaborRecordsOutsideContract(bytes32 contractId, uint32 date);
    /// @notice The week's days or minutes are out of range (days bitmask > 127, minutes > 10080).
    /// @custom:http 422
    error LaborRecordsInvalidWeek(uint32 weekStart, uint32 minutesWorked, uint8 daysWorked);
    /// @notice Entry `index` of the week is not a shift of that week: its date is outside the week,
    /// it starts before the previous entry ends, `startMinute` ≥ 1440, `endMinute` is not after
    /// `startMinute` (or more than 24 h after it), or the break is not shorter than the shift.
    /// @custom:http 422
    error LaborRecordsInvalidEntry(
        uint32 weekStart, uint256 index, uint32 date, uint16 startMinute, uint16 endMinute, uint16 breakMinutes
    );
    /// @notice The week was already recorded and is not disputed, so it can not be recorded again.
    /// @custom:http 409
    error LaborRecordsWeekAlreadyRecorded(bytes32 contractId, uint32 weekStart, WeekStatus status);
    /// @notice The message names revision `given`, the record expects `expected`.
    /// @custom:http 409
    error LaborRecordsWrongRevision(uint8 expected, uint8 given);
    /// @notice The week was never recorded.
    /// @custom:http 404
    error LaborRecordsUnknownWeek(bytes32 contractId, uint32 weekStart);
    /// @notice The week is not awaiting the worker (already confirmed or disputed).
    /// @custom:http 409
    error LaborRecordsWeekAlreadySettled(bytes32 contractId, uint32 weekStart, WeekStatus status);
    /// @notice `grossPay` is not the sum of the components.
    /// @custom:http 422
    error LaborRecordsGrossMismatch(uint64 grossPay, uint256 sumOfComponents);
    /// @notice Deductions exceed the gross pay.
    /// @custom:http 422
    error LaborRecordsDeductionsExceedGross(uint64 deductions, uint64 grossPay);
    /// @notice The statement's dates are inconsistent (end before start, or paid before the period started).
    /// @custom:http 422
    error LaborRecordsInvalidPeriod(uint32 periodStart, uint32 periodEnd, uint32 paymentDate);
    /// @notice The statement hash is zero.
    /// @custom:http 422
    error LaborRecordsEmptyStatementHash();

    // ---------------------------------------------------------------- constants

    /// @notice Role of the labour office that maintains the minimum wage table.
    function LABOR_OFFICE_ROLE() external view returns (bytes32);

    /// @notice keccak256 of the `LaborContract(...)` type string (see {Terms}).
    function LABOR_CONTRACT_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256 of the `RecordWeek(...)` type string (see {WeekLog}).
    function RECORD_WEEK_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256 of `ConfirmWeek(bytes32 contractId,uint32 weekStart,uint8 revision,uint32 minutesWorked,uint8 daysWorked,bytes32 entriesRoot,uint256 deadline)`.
    function CONFIRM_WEEK_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256 of `DisputeWeek(bytes32 contractId,uint32 weekStart,uint8 revision,uint32 claimedMinutes,uint8 claimedDays,bytes32 reasonHash,uint256 deadline)`.
    function DISPUTE_WEEK_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256 of the `RecordWageStatement(...)` type string (see {WageStatement}).
    function RECORD_WAGE_STATEMENT_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256 of `SetMinimumWage(uint16 year,uint32 hourlyWage,address office,uint256 nonce,uint256 deadline)`.
    function SET_MINIMUM_WAGE_TYPEHASH() external view returns (bytes32);

    // ---------------------------------------------------------------- actions

    /// @notice Sets the minimum hourly wage of `year`. Signed by `office` (LABOR_OFFICE_ROLE) as
    /// `SetMinimumWage(uint16 year,uint32 hourlyWage,address office,uint256 nonce,uint256 deadline)`.
    /// @param nonce `nonces(office)`
    function setMinimumWage(
        uint16 year,
        uint32 hourlyWage,
        address office,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Registers a labour contract signed by both parties (the same `LaborContract`
    /// message). Rejects a missing term, an invalid date, a non-citizen worker and a wage below
    /// the minimum wage of the start year.
    /// @return contractId `keccak256(abi.encode(employer, worker, documentHash))`
    function registerContract(
        Terms calldata terms,
        uint256 deadline,
        bytes calldata employerSignature,
        bytes calldata workerSignature
    ) external returns (bytes32 contractId);

    /// @notice The employer records a week's shifts (signed `RecordWeek` over the summary the
    /// contract derives from them, see {WeekLog}). Revision 0 for a new week; after a dispute, the
    /// previous revision + 1.
    function recordWeek(bytes32 contractId, WeekLog calldata log, uint256 deadline, bytes calldata employerSignature)
        external;

    /// @notice The worker confirms the week as recorded: signs `ConfirmWeek` over the stored
    /// revision, minutes, days and root, so a confirmation can not be moved to other values.
    function confirmWeek(bytes32 contractId, uint32 weekStart, uint256 deadline, bytes calldata workerSignature)
        external;

    /// @notice The worker disputes the current revision of the week (signed `DisputeWeek`),
    /// stating the minutes and days they claim and the hash of their reason.
    function disputeWeek(
        bytes32 contractId,
        uint32 weekStart,
        uint8 revision,
        uint32 claimedMinutes,
        uint8 claimedDays,
        bytes32 reasonHash,
        uint256 deadline,
        bytes calldata workerSignature
    ) external;

    /// @notice The employer records the wage statement of a pay period (signed `RecordWageStatement`).
    function recordWageStatement(
        bytes32 contractId,
        WageStatement calldata statement,
        uint256 deadline,
        bytes calldata employerSignature
    ) external;

    // ---------------------------------------------------------------- views

    /// @notice The contract `contractId` (all zero when unknown).
    function contractOf(bytes32 contractId) external view returns (LaborContract memory);

    /// @notice The week of `contractId` starting `weekStart` (status None when never recorded).
    function weekOf(bytes32 contractId, uint32 weekStart) external view returns (Week memory);

    /// @notice The latest statement of the pay period starting `periodStart`.
    function statementOf(bytes32 contractId, uint32 periodStart) external view returns (StatementRecord memory);

    /// @notice The minimum hourly wage that applies in `year`: the table's value, or the latest
    /// year's value for a year after the table; reverts {LaborRecordsMinimumWageUnknown} before it.
    function minimumWageOf(uint16 year) external view returns (uint32);

    /// @notice Whether `entry` (`abi.encode(uint32 date, uint16 startMinute, uint16 endMinute, uint16 breakMinutes, bool holiday)`)
    /// is one of the daily entries of the week's current revision.
    function verifyDailyEntry(bytes32 contractId, uint32 weekStart, bytes calldata entry, bytes32[] calldata proof)
        external
        view
        returns (bool);

    /// @notice The id a contract between `employer` and `worker` for `documentHash` has.
    function contractIdOf(address employer, address worker, bytes32 documentHash) external pure returns (bytes32);

    /// @notice The EIP-712 domain separator of this contract.
    function DOMAIN_SEPARATOR() external view returns (bytes32);
}

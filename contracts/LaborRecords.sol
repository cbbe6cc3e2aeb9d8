// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

import {ICitizenRegistry} from "./interfaces/ICitizenRegistry.sol";
import {ILaborRecords} from "./interfaces/ILaborRecords.sol";

/// @title LaborRecords
/// @notice Part-time worker protection; see {ILaborRecords}.
/// @dev Storage per contract: two packed words plus the document hash (the workplace id and
/// every other term are in the registration event and committed to by both signatures). Per
/// week: one packed word plus the Merkle root. Per statement: two words (components in the event).
contract LaborRecords is ILaborRecords, AccessControl, EIP712, Nonces {
    /// @inheritdoc ILaborRecords
    bytes32 public constant LABOR_OFFICE_ROLE = keccak256("LABOR_OFFICE_ROLE");

    /// @inheritdoc ILaborRecords
    bytes32 public constant LABOR_CONTRACT_TYPEHASH = keccak256(
        "LaborContract(address employer,address worker,bytes32 documentHash,bytes32 workplaceId,uint32 hourlyWage,"
        "uint16 dailyMinutes,uint16 weeklyMinutes,uint8 workDays,uint32 startDate,uint32 endDate,uint8 payCycle,"
        "uint8 payDay,uint16 breakMinutes,bool fiveOrMoreEmployees,uint256 deadline)"
    );

    /// @inheritdoc ILaborRecords
    bytes32 public constant RECORD_WEEK_TYPEHASH = keccak256(
        "RecordWeek(bytes32 contractId,uint32 weekStart,uint32 minutesWorked,uint8 daysWorked,bytes32 entriesRoot,"
        "uint8 revision,uint256 deadline)"
    );

    /// @inheritdoc ILaborRecords
    bytes32 public constant CONFIRM_WEEK_TYPEHASH = keccak256(
        "ConfirmWeek(bytes32 contractId,uint32 weekStart,uint8 revision,uint32 minutesWorked,uint8 daysWorked,"
        "bytes32 entriesRoot,uint256 deadline)"
    );

    /// @inheritdoc ILaborRecords
    bytes32 public constant DISPUTE_WEEK_TYPEHASH = keccak256(
        "DisputeWeek(bytes32 contractId,uint32 weekStart,uint8 revision,uint32 claimedMinutes,uint8 claimedDays,"
        "bytes32 reasonHash,uint256 deadline)"
    );

    /// @inheritdoc ILaborRecords
    bytes32 public constant RECORD_WAGE_STATEMENT_TYPEHASH = keccak256(
        "RecordWageStatement(bytes32 contractId,uint32 periodStart,uint32 periodEnd,uint32 paymentDate,"
        "bytes32 statementHash,uint64 grossPay,uint64 basePay,uint64 holidayPay,uint64 overtimePay,uint64 otherPay,"
        "uint64 deductions,uint8 revision,uint256 deadline)"
    );

    /// @inheritdoc ILaborRecords
    bytes32 public constant SET_MINIMUM_WAGE_TYPEHASH =
        keccak256("SetMinimumWage(uint16 year,uint32 hourlyWage,address office,uint256 nonce,uint256 deadline)");

    uint16 private constant _FIRST_YEAR = 2019;
    uint32 private constant _OPEN_ENDED = 99991231;

    ICitizenRegistry private immutable _registry;

    uint16 private _latestYear;
    mapping(uint16 year => uint32 hourlyWage) private _minimumWage;
    mapping(bytes32 contractId => LaborContract) private _contracts;
    mapping(bytes32 contractId => mapping(uint32 weekStart => Week)) private _weeks;
    mapping(bytes32 contractId => mapping(uint32 periodStart => StatementRecord)) private _statements;

    constructor(address admin, ICitizenRegistry registry) EIP712("LaborRecords", "1") {
        if (admin == address(0) || address(registry) == address(0)) revert LaborRecordsZeroAddress();
        _registry = registry;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(LABOR_OFFICE_ROLE, admin);
        uint32[8] memory table = [uint32(8350), 8590, 8720, 9160, 9620, 9860, 10030, 10320];
        for (uint16 i = 0; i < 8; ++i) {
            _setMinimumWage(_FIRST_YEAR + i, table[i], address(0));
        }
    }

    // ------------------------------------------------------------------ minimum wage table

    /// @inheritdoc ILaborRecords
    function setMinimumWage(
        uint16 year,
        uint32 hourlyWage,
        address office,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        _checkDeadline(deadline);
        if (!hasRole(LABOR_OFFICE_ROLE, office)) revert LaborRecordsUnauthorizedOffice(office);
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(SET_MINIMUM_WAGE_TYPEHASH, year, hourlyWage, office, nonce, deadline)));
        _checkSignature(digest, signature, office);
        _useCheckedNonce(office, nonce);
        if (year < _FIRST_YEAR || year > 9999) revert LaborRecordsInvalidYear(year);
        if (hourlyWage == 0) revert LaborRecordsMissingTerm(5, "hourlyWage");
        _setMinimumWage(year, hourlyWage, office);
    }

    function _setMinimumWage(uint16 year, uint32 hourlyWage, address office) internal {
        _minimumWage[year] = hourlyWage;
        if (year > _latestYear) _latestYear = year;
        emit MinimumWageSet(year, hourlyWage, office);
    }

    // ------------------------------------------------------------------ contracts

    /// @inheritdoc ILaborRecords
    function registerContract(
        Terms calldata terms,
        uint256 deadline,
        bytes calldata employerSignature,
        bytes calldata workerSignature
    ) external returns (bytes32 contractId) {
        return _register(terms, deadline, employerSignature, workerSignature);
    }

    function _register(
        Terms calldata t,
        uint256 deadline,
        bytes calldata employerSignature,
        bytes calldata workerSignature
    ) internal returns (bytes32 contractId) {
        _checkDeadline(deadline);
        if (t.employer == address(0) || t.worker == address(0)) revert LaborRecordsZeroAddress();
        if (t.employer == t.worker) revert LaborRecordsSelfEmployment(t.worker);
        _checkTerms(t);
        bytes32 digest = _hashTypedDataV4(_termsHash(t, deadline));
        _checkSignature(digest, employerSignature, t.employer);
        _checkSignature(digest, workerSignature, t.worker);
        if (!_registry.isActive(t.worker)) revert LaborRecordsWorkerNotCitizen(t.worker);
        uint16 year = uint16(t.startDate / 10000);
        uint32 minimum = _minimumWageOf(year);
        if (t.hourlyWage < minimum) revert LaborRecordsBelowMinimumWage(t.hourlyWage, minimum, year);

        contractId = keccak256(abi.encode(t.employer, t.worker, t.documentHash));
        LaborContract storage c = _contracts[contractId];
        if (c.employer != address(0)) revert LaborRecordsAlreadyRegistered(contractId);
        c.employer = t.employer;
        c.hourlyWage = t.hourlyWage;
        c.dailyMinutes = t.dailyMinutes;
        c.weeklyMinutes = t.weeklyMinutes;
        c.workDays = t.workDays;
        c.payCycle = t.payCycle;
        c.payDay = t.payDay;
        c.fiveOrMoreEmployees = t.fiveOrMoreEmployees;
        c.worker = t.worker;
        c.startDate = t.startDate;
        c.endDate = t.endDate;
        c.breakMinutes = t.breakMinutes;
        c.documentHash = t.documentHash;
        emit LaborContractRegistered(contractId, t.employer, t.worker, t);
    }

    function _termsHash(Terms calldata t, uint256 deadline) private pure returns (bytes32) {
        // Two halves keep the stack shallow without viaIR.
        bytes memory head = abi.encode(
            LABOR_CONTRACT_TYPEHASH, t.employer, t.worker, t.documentHash, t.workplaceId, t.hourlyWage, t.dailyMinutes
        );
        bytes memory tail = abi.encode(
            t.weeklyMinutes,
            t.workDays,
            t.startDate,
            t.endDate,
            t.payCycle,
            t.payDay,
            t.breakMinutes,
            t.fiveOrMoreEmployees,
            deadline
        );
        return keccak256(bytes.concat(head, tail));
    }

    function _checkTerms(Terms calldata t) private pure {
        if (t.documentHash == bytes32(0)) revert LaborRecordsMissingTerm(3, "documentHash");
        if (t.workplaceId == bytes32(0)) revert LaborRecordsMissingTerm(4, "workplaceId");
        if (t.hourlyWage == 0) revert LaborRecordsMissingTerm(5, "hourlyWage");
        if (t.dailyMinutes == 0) revert LaborRecordsMissingTerm(6, "dailyMinutes");
        if (t.weeklyMinutes == 0) revert LaborRecordsMissingTerm(7, "weeklyMinutes");
        if (t.workDays == 0) revert LaborRecordsMissingTerm(8, "workDays");
        if (t.startDate == 0) revert LaborRecordsMissingTerm(9, "startDate");
        if (t.endDate == 0) revert LaborRecordsMissingTerm(10, "endDate");
        if (t.payCycle == 0) revert LaborRecordsMissingTerm(11, "payCycle");
        if (t.payDay == 0) revert LaborRecordsMissingTerm(12, "payDay");
        if (t.dailyMinutes > 1440) revert LaborRecordsInvalidTerm(t.dailyMinutes, "dailyMinutes");
        if (t.weeklyMinutes > 10080) revert LaborRecordsInvalidTerm(t.weeklyMinutes, "weeklyMinutes");
        if (t.breakMinutes > 1440) revert LaborRecordsInvalidTerm(t.breakMinutes, "breakMinutes");
        if (t.workDays > 127) revert LaborRecordsInvalidTerm(t.workDays, "workDays");
        if (t.payCycle > uint8(PayCycle.Monthly)) revert LaborRecordsInvalidTerm(t.payCycle, "payCycle");
        if (t.payDay > (t.payCycle == uint8(PayCycle.Weekly) ? 7 : 31)) {
            revert LaborRecordsInvalidTerm(t.payDay, "payDay");
        }
        uint256 start = _dayNumber(t.startDate);
        if (t.endDate != _OPEN_ENDED && _dayNumber(t.endDate) < start) {
            revert LaborRecordsEndBeforeStart(t.startDate, t.endDate);
        }
    }

    // ------------------------------------------------------------------ work weeks

    /// @inheritdoc ILaborRecords
    function recordWeek(bytes32 contractId, WeekLog calldata log, uint256 deadline, bytes calldata employerSignature)
        external
    {
        _recordWeek(contractId, log, deadline, employerSignature);
    }

    function _recordWeek(bytes32 contractId, WeekLog calldata log, uint256 deadline, bytes calldata signature)
        internal
    {
        _checkDeadline(deadline);
        LaborContract storage c = _existing(contractId);
        uint256 day = _dayNumber(log.weekStart);
        if ((day + 3) % 7 != 0) revert LaborRecordsNotMonday(log.weekStart);
        (uint32 minutesWorked, uint8 daysWorked, bytes32 root) = _summarise(log.weekStart, day, log.entries);
        _checkSignature(
            _weekDigest(contractId, log.weekStart, minutesWorked, daysWorked, root, log.revision, deadline),
            signature,
            c.employer
        );
        if (day + 6 < _dayNumber(c.startDate) || (c.endDate != _OPEN_ENDED && day > _dayNumber(c.endDate))) {
            revert LaborRecordsOutsideContract(contractId, log.weekStart);
        }
        _storeWeek(contractId, log, minutesWorked, daysWorked, root);
    }

    function _storeWeek(bytes32 contractId, WeekLog calldata log, uint32 minutesWorked, uint8 daysWorked, bytes32 root)
        private
    {
        Week storage w = _weeks[contractId][log.weekStart];
        uint8 expected = 0;
        if (w.status != WeekStatus.None) {
            if (w.status != WeekStatus.Disputed) {
                revert LaborRecordsWeekAlreadyRecorded(contractId, log.weekStart, w.status);
            }
            expected = w.revision + 1;
        }
        if (log.revision != expected) revert LaborRecordsWrongRevision(expected, log.revision);
        w.minutesWorked = minutesWorked;
        w.daysWorked = daysWorked;
        w.status = WeekStatus.Recorded;
        w.revision = log.revision;
        w.entriesRoot = root;
        emit WeekRecorded(contractId, log.weekStart, log.revision, minutesWorked, daysWorked, root, log.entries);
    }

    function _weekDigest(
        bytes32 contractId,
        uint32 weekStart,
        uint32 minutesWorked,
        uint8 daysWorked,
        bytes32 root,
        uint8 revision,
        uint256 deadline
    ) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    RECORD_WEEK_TYPEHASH, contractId, weekStart, minutesWorked, daysWorked, root, revision, deadline
                )
            )
        );
    }

    /// @dev Checks the shifts of the week starting on day number `monday` and derives the week's
    /// minutes, days mask and the entries' Merkle root (see {WeekLog}).
    function _summarise(uint32 weekStart, uint256 monday, DayEntry[] calldata entries)
        private
        pure
        returns (uint32 minutesWorked, uint8 daysWorked, bytes32 root)
    {
        uint256 n = entries.length;
        if (n == 0) return (0, 0, bytes32(0));
        // OpenZeppelin StandardMerkleTree layout: 2n - 1 nodes, the leaves in the last n (see _standardRoot)
        bytes32[] memory tree = new bytes32[](2 * n - 1);
        uint256 previousEnd = 0;
        uint256 total = 0;
        for (uint256 i = 0; i < n; ++i) {
            DayEntry calldata e = entries[i];
            uint256 dayOf = _dayNumber(e.date);
            uint256 offset = dayOf >= monday ? dayOf - monday : 7; // 7: before the week
            uint256 start = offset * 1440 + e.startMinute;
            if (
                offset > 6 || e.startMinute >= 1440 || e.endMinute <= e.startMinute
                    || e.endMinute > uint256(e.startMinute) + 1440 || e.breakMinutes >= e.endMinute - e.startMinute
                    || start < previousEnd
            ) {
                revert LaborRecordsInvalidEntry(weekStart, i, e.date, e.startMinute, e.endMinute, e.breakMinutes);
            }
            previousEnd = offset * 1440 + e.endMinute;
            total += e.endMinute - e.startMinute - e.breakMinutes;
            daysWorked |= uint8(1 << offset);
            tree[n - 1 + i] = keccak256(
                bytes.concat(keccak256(abi.encode(e.date, e.startMinute, e.endMinute, e.breakMinutes, e.holiday)))
            );
        }
        if (total > 10080) revert LaborRecordsInvalidWeek(weekStart, uint32(total), daysWorked);
        minutesWorked = uint32(total);
        root = _standardRoot(tree, n);
    }

    /// @dev Root of `StandardMerkleTree.of(entries, leafEncoding)` of OpenZeppelin's npm merkle-tree (and
    /// of the backend's `platform/merkle.py`) whose `n` leaf hashes are `tree[n - 1 ..]` (any order): the
    /// leaves sorted ascending go to `tree[2n - 2 - k]` (so descending from `tree[n - 1]`), node `i`
    /// is the sorted-pair hash of nodes `2i + 1` and `2i + 2`, the root is node 0.
    function _standardRoot(bytes32[] memory tree, uint256 n) private pure returns (bytes32) {
        unchecked {
            // indices stay inside [0, 2n - 1): no overflow is possible
            uint256 first = n - 1;
            for (uint256 i = first + 1; i < first + n; ++i) {
                bytes32 x = tree[i];
                uint256 j = i;
                while (j > first && tree[j - 1] < x) {
                    tree[j] = tree[j - 1];
                    --j;
                }
                tree[j] = x;
            }
            for (uint256 i = first; i > 0; --i) {
                tree[i - 1] = Hashes.commutativeKeccak256(tree[2 * i - 1], tree[2 * i]);
            }
        }
        return tree[0];
    }

    /// @inheritdoc ILaborRecords
    function confirmWeek(bytes32 contractId, uint32 weekStart, uint256 deadline, bytes calldata workerSignature)
        external
    {
        _checkDeadline(deadline);
        address worker = _contracts[contractId].worker;
        if (worker == address(0)) revert LaborRecordsUnknownContract(contractId);
        Week storage w = _weeks[contractId][weekStart];
        Week memory m = w;
        _checkPending(contractId, weekStart, m.status);
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(
                    CONFIRM_WEEK_TYPEHASH,
                    contractId,
                    weekStart,
                    m.revision,
                    m.minutesWorked,
                    m.daysWorked,
                    m.entriesRoot,
                    deadline
                )
            )
        );
        _checkSignature(digest, workerSignature, worker);
        w.status = WeekStatus.Confirmed;
        emit WeekConfirmed(contractId, weekStart, m.revision, worker);
    }

    /// @inheritdoc ILaborRecords
    function disputeWeek(
        bytes32 contractId,
        uint32 weekStart,
        uint8 revision,
        uint32 claimedMinutes,
        uint8 claimedDays,
        bytes32 reasonHash,
        uint256 deadline,
        bytes calldata workerSignature
    ) external {
        _checkDeadline(deadline);
        address worker = _contracts[contractId].worker;
        if (worker == address(0)) revert LaborRecordsUnknownContract(contractId);
        Week storage w = _weeks[contractId][weekStart];
        _checkPending(contractId, weekStart, w.status);
        if (revision != w.revision) revert LaborRecordsWrongRevision(w.revision, revision);
        if (claimedDays > 127 || claimedMinutes > 10080) revert LaborRecordsInvalidWeek(weekStart, claimedMinutes, claimedDays);
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(
                    DISPUTE_WEEK_TYPEHASH, contractId, weekStart, revision, claimedMinutes, claimedDays, reasonHash, deadline
                )
            )
        );
        _checkSignature(digest, workerSignature, worker);
        w.status = WeekStatus.Disputed;
        emit WeekDisputed(contractId, weekStart, revision, claimedMinutes, claimedDays, reasonHash, worker);
    }

    function _checkPending(bytes32 contractId, uint32 weekStart, WeekStatus status) private pure {
        if (status == WeekStatus.None) revert LaborRecordsUnknownWeek(contractId, weekStart);
        if (status != WeekStatus.Recorded) revert LaborRecordsWeekAlreadySettled(contractId, weekStart, status);
    }

    // ------------------------------------------------------------------ wage statements

    /// @inheritdoc ILaborRecords
    function recordWageStatement(
        bytes32 contractId,
        WageStatement calldata statement,
        uint256 deadline,
        bytes calldata employerSignature
    ) external {
        _recordStatement(contractId, statement, deadline, employerSignature);
    }

    function _recordStatement(bytes32 contractId, WageStatement calldata s, uint256 deadline, bytes calldata signature)
        internal
    {
        _checkDeadline(deadline);
        LaborContract storage c = _existing(contractId);
        _checkSignature(_hashTypedDataV4(_statementHash(contractId, s, deadline)), signature, c.employer);
        if (s.statementHash == bytes32(0)) revert LaborRecordsEmptyStatementHash();
        uint256 start = _dayNumber(s.periodStart);
        if (_dayNumber(s.periodEnd) < start || _dayNumber(s.paymentDate) < start) {
            revert LaborRecordsInvalidPeriod(s.periodStart, s.periodEnd, s.paymentDate);
        }
        if (_dayNumber(s.periodEnd) < _dayNumber(c.startDate) || (c.endDate != _OPEN_ENDED && start > _dayNumber(c.endDate))) {
            revert LaborRecordsOutsideContract(contractId, s.periodStart);
        }
        uint256 sum = uint256(s.basePay) + s.holidayPay + s.overtimePay + s.otherPay;
        if (sum != s.grossPay) revert LaborRecordsGrossMismatch(s.grossPay, sum);
        if (s.deductions > s.grossPay) revert LaborRecordsDeductionsExceedGross(s.deductions, s.grossPay);
        StatementRecord storage r = _statements[contractId][s.periodStart];
        uint8 expected = r.exists ? r.revision + 1 : 0;
        if (s.revision != expected) revert LaborRecordsWrongRevision(expected, s.revision);
        r.statementHash = s.statementHash;
        r.grossPay = s.grossPay;
        r.deductions = s.deductions;
        r.periodEnd = s.periodEnd;
        r.paymentDate = s.paymentDate;
        r.revision = s.revision;
        r.exists = true;
        emit WageStatementRecorded(contractId, s.periodStart, s);
    }

    function _statementHash(bytes32 contractId, WageStatement calldata s, uint256 deadline)
        private
        pure
        returns (bytes32)
    {
        bytes memory head = abi.encode(
            RECORD_WAGE_STATEMENT_TYPEHASH, contractId, s.periodStart, s.periodEnd, s.paymentDate, s.statementHash, s.grossPay
        );
        bytes memory tail = abi.encode(s.basePay, s.holidayPay, s.overtimePay, s.otherPay, s.deductions, s.revision, deadline);
        return keccak256(bytes.concat(head, tail));
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ILaborRecords
    function contractOf(bytes32 contractId) external view returns (LaborContract memory) {
        return _contracts[contractId];
    }

    /// @inheritdoc ILaborRecords
    function weekOf(bytes32 contractId, uint32 weekStart) external view returns (Week memory) {
        return _weeks[contractId][weekStart];
    }

    /// @inheritdoc ILaborRecords
    function statementOf(bytes32 contractId, uint32 periodStart) external view returns (StatementRecord memory) {
        return _statements[contractId][periodStart];
    }

    /// @inheritdoc ILaborRecords
    function minimumWageOf(uint16 year) external view returns (uint32) {
        return _minimumWageOf(year);
    }

    /// @inheritdoc ILaborRecords
    function verifyDailyEntry(bytes32 contractId, uint32 weekStart, bytes calldata entry, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        Week storage w = _weeks[contractId][weekStart];
        if (w.status == WeekStatus.None) return false;
        bytes32 leaf = keccak256(bytes.concat(keccak256(entry)));
        return MerkleProof.verifyCalldata(proof, w.entriesRoot, leaf);
    }

    /// @inheritdoc ILaborRecords
    function contractIdOf(address employer, address worker, bytes32 documentHash) external pure returns (bytes32) {
        return keccak256(abi.encode(employer, worker, documentHash));
    }

    /// @inheritdoc ILaborRecords
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ------------------------------------------------------------------ internals

    function _minimumWageOf(uint16 year) internal view returns (uint32 wage) {
        wage = _minimumWage[year];
        if (wage == 0) {
            if (year < _FIRST_YEAR) revert LaborRecordsMinimumWageUnknown(year);
            // A year after the table (or a gap) uses the latest value set.
            wage = _minimumWage[_latestYear];
        }
    }

    function _existing(bytes32 contractId) private view returns (LaborContract storage c) {
        c = _contracts[contractId];
        if (c.employer == address(0)) revert LaborRecordsUnknownContract(contractId);
    }

    function _checkDeadline(uint256 deadline) private view {
        if (block.timestamp > deadline) revert LaborRecordsSignatureExpired(deadline);
    }

    function _checkSignature(bytes32 digest, bytes calldata signature, address expected) private pure {
        // The ignored third value only details an error; `err` itself is checked below.
        // slither-disable-next-line unused-return
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        if (err != ECDSA.RecoverError.NoError || recovered != expected) revert LaborRecordsInvalidSignature(expected);
    }

    /// @dev Days since 1970-01-01 of a yyyymmdd date (Howard Hinnant's days_from_civil);
    /// reverts {LaborRecordsInvalidDate} unless 1970 ≤ year ≤ 9999 and the day exists.
    function _dayNumber(uint32 date) internal pure returns (uint256) {
        uint256 y = date / 10000;
        uint256 m = (date / 100) % 100;
        uint256 d = date % 100;
        if (y < 1970 || y > 9999 || m == 0 || m > 12 || d == 0 || d > _monthLength(y, m)) {
            revert LaborRecordsInvalidDate(date);
        }
        if (m <= 2) y -= 1;
        // Floor divisions are the algorithm (days-from-civil), not a loss of precision.
        // slither-disable-next-line divide-before-multiply
        uint256 era = y / 400;
        uint256 yoe = y - era * 400;
        uint256 mp = m > 2 ? m - 3 : m + 9;
        uint256 doy = (153 * mp + 2) / 5 + d - 1;
        uint256 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
    }

    function _monthLength(uint256 y, uint256 m) private pure returns (uint256) {
        if (m == 2) return (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28;
        if (m == 4 || m == 6 || m == 9 || m == 11) return 30;
        return 31;
    }
}

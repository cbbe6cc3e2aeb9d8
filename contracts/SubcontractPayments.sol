// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

import {ICitizenRegistry} from "./interfaces/ICitizenRegistry.sol";
import {ISubcontractPayments} from "./interfaces/ISubcontractPayments.sol";

/// @title Automatic subcontract payment (하도급 대금 자동지급)
/// @notice See {ISubcontractPayments}. Actors sign, anyone relays; `settle` is permissionless.
/// @dev Gas: a line is one storage slot (payee | purpose | amount); confirmation and payment
/// status share one bit-map slot per claim (claims hold at most 128 lines); evidence hashes, due dates and interest are only emitted.
/// Bucket totals are summed in memory and written once per purpose per settlement.
contract SubcontractPayments is ISubcontractPayments, AccessControl, EIP712, Nonces {
    /// @inheritdoc ISubcontractPayments
    bytes32 public constant CLIENT_ROLE = keccak256("CLIENT_ROLE");
    /// @inheritdoc ISubcontractPayments
    bytes32 public constant INSPECTOR_ROLE = keccak256("INSPECTOR_ROLE");

    /// @inheritdoc ISubcontractPayments
    bytes32 public constant PARTICIPANT_TYPEHASH =
        keccak256("Participant(address account,uint8 role,address employer,uint256 contractAmount)");
    /// @inheritdoc ISubcontractPayments
    bytes32 public constant REGISTER_PROJECT_TYPEHASH = keccak256(
        "RegisterProject(bytes32 projectRef,address prime,uint256 contractAmount,Participant[] participants,address client,uint256 nonce,uint256 deadline)Participant(address account,uint8 role,address employer,uint256 contractAmount)"
    );
    /// @inheritdoc ISubcontractPayments
    bytes32 public constant ADD_PARTICIPANTS_TYPEHASH = keccak256(
        "AddParticipants(uint256 projectId,Participant[] participants,address client,uint256 nonce,uint256 deadline)Participant(address account,uint8 role,address employer,uint256 contractAmount)"
    );
    /// @inheritdoc ISubcontractPayments
    bytes32 public constant FUND_PROJECT_TYPEHASH = keccak256(
        "FundProject(uint256 projectId,uint8 purpose,uint256 amount,address client,uint256 nonce,uint256 deadline)"
    );
    /// @inheritdoc ISubcontractPayments
    bytes32 public constant LINE_TYPEHASH =
        keccak256("Line(address payee,uint8 purpose,uint256 amount,bytes32 evidence)");
    /// @inheritdoc ISubcontractPayments
    bytes32 public constant SUBMIT_CLAIM_TYPEHASH = keccak256(
        "SubmitClaim(uint256 projectId,Line[] lines,address prime,uint256 nonce,uint256 deadline)Line(address payee,uint8 purpose,uint256 amount,bytes32 evidence)"
    );
    /// @inheritdoc ISubcontractPayments
    bytes32 public constant CONFIRM_LINES_TYPEHASH =
        keccak256("ConfirmLines(uint256 claimId,uint256 lines,address confirmer,uint256 nonce,uint256 deadline)");
    /// @inheritdoc ISubcontractPayments
    bytes32 public constant APPROVE_CLAIM_TYPEHASH =
        keccak256("ApproveClaim(uint256 claimId,address inspector,uint256 nonce,uint256 deadline)");
    /// @inheritdoc ISubcontractPayments
    bytes32 public constant DIRECT_PAYMENT_TYPEHASH = keccak256(
        "DirectPayment(uint256 claimId,uint256 line,uint8 ground,address client,uint256 nonce,uint256 deadline)"
    );
    /// @inheritdoc ISubcontractPayments
    bytes32 public constant CLOSE_PROJECT_TYPEHASH =
        keccak256("CloseProject(uint256 projectId,address client,uint256 nonce,uint256 deadline)");
    /// @inheritdoc ISubcontractPayments
    bytes32 public constant WITHDRAW_TYPEHASH =
        keccak256("Withdraw(address payee,address to,uint256 nonce,uint256 deadline)");

    uint256 private constant _DUE_PERIOD = 15 days;
    /// @dev 15.5% a year = 155 / 1000 per 365 days.
    uint256 private constant _INTEREST_NUM = 155;
    uint256 private constant _INTEREST_DEN = 1000 * 365 days;
    uint256 private constant _MAX_AMOUNT = type(uint80).max;
    uint256 private constant _MAX_LINES = 128;
    uint256 private constant _LOW128 = type(uint128).max;
    /// @dev Gas kept for each pushed transfer, so a failure can not be an out-of-gas the relayer caused.
    uint256 private constant _TRANSFER_GAS = 90_000;
    uint256 private constant _PURPOSES = 5;

    struct Project {
        address client;
        uint40 registeredAt;
        bool closed;
        address prime;
        uint64 claimCount;
    }

    struct Bucket {
        uint80 funded;
        uint80 paid;
        uint80 refunded;
    }

    struct Claim {
        uint64 projectId;
        uint16 lineCount;
        uint40 submittedAt;
        uint40 approvedAt;
        uint40 paidAt;
    }

    IERC20 private immutable _token;
    ICitizenRegistry private immutable _registry;

    mapping(uint256 projectId => Project) private _projects;
    /// @dev role (8 bits) | employer << 8 | contractAmount << 168
    mapping(uint256 projectId => mapping(address account => uint256 packed)) private _participants;
    mapping(uint256 projectId => mapping(uint256 purpose => Bucket)) private _buckets;
    mapping(uint256 claimId => Claim) private _claims;
    /// @dev payee | purpose << 160 | amount << 168
    mapping(uint256 claimId => mapping(uint256 line => uint256 packed)) private _lines;
    /// @dev One slot per claim: bit i = line i confirmed (low 128 bits), bit 128 + i = line i paid.
    /// Confirmations make it non-zero before any settlement, so settling rewrites a non-zero slot.
    mapping(uint256 claimId => uint256 bits) private _status;
    mapping(address payee => uint256 amount) private _withdrawable;
    /// Credit by project, and the projects a payee has credit from (so a withdrawal is attributed).
    mapping(address payee => mapping(uint256 projectId => uint256 amount)) private _withdrawableFrom;
    mapping(address payee => uint256[] projectIds) private _creditProjects;
    uint256 private _totalWithdrawable;
    uint256 private _projectCount;
    uint256 private _claimCount;

    constructor(address admin, ICitizenRegistry registry_, IERC20 token_) EIP712("SubcontractPayments", "1") {
        if (admin == address(0) || address(registry_) == address(0) || address(token_) == address(0)) {
            revert SubcontractPaymentsZeroAddress();
        }
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _registry = registry_;
        _token = token_;
    }

    // ---------------------------------------------------------------- client actions

    /// @inheritdoc ISubcontractPayments
    function registerProject(
        bytes32 projectRef,
        address prime,
        uint256 contractAmount,
        Participant[] calldata participants,
        address client,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 projectId) {
        bytes32 structHash = keccak256(
            abi.encode(
                REGISTER_PROJECT_TYPEHASH,
                projectRef,
                prime,
                contractAmount,
                _hashParticipants(participants),
                client,
                nonce,
                deadline
            )
        );
        _checkSignature(client, nonce, deadline, structHash, signature);
        if (!hasRole(CLIENT_ROLE, client)) revert SubcontractPaymentsUnauthorized(client, CLIENT_ROLE);
        if (prime == address(0)) revert SubcontractPaymentsZeroAddress();
        projectId = ++_projectCount;
        _projects[projectId] = Project({
            client: client, registeredAt: uint40(block.timestamp), closed: false, prime: prime, claimCount: 0
        });
        _participants[projectId][prime] = uint256(uint8(Role.Prime)) | (_cap(contractAmount) << 168);
        emit ProjectRegistered(projectId, client, prime, projectRef, contractAmount);
        emit ParticipantRegistered(projectId, prime, uint8(Role.Prime), address(0), contractAmount);
        _addParticipants(projectId, prime, participants);
    }

    /// @inheritdoc ISubcontractPayments
    function addParticipants(
        uint256 projectId,
        Participant[] calldata participants,
        address client,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash = keccak256(
            abi.encode(ADD_PARTICIPANTS_TYPEHASH, projectId, _hashParticipants(participants), client, nonce, deadline)
        );
        _checkSignature(client, nonce, deadline, structHash, signature);
        Project storage p = _openProjectOf(projectId, client);
        _addParticipants(projectId, p.prime, participants);
    }

    /// @inheritdoc ISubcontractPayments
    function fund(
        uint256 projectId,
        uint8 purpose,
        uint256 amount,
        address client,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash =
            keccak256(abi.encode(FUND_PROJECT_TYPEHASH, projectId, purpose, amount, client, nonce, deadline));
        _checkSignature(client, nonce, deadline, structHash, signature);
        _openProjectOf(projectId, client);
        _checkPurpose(purpose);
        Bucket storage b = _buckets[projectId][purpose];
        if (amount == 0 || amount > _MAX_AMOUNT - b.funded) revert SubcontractPaymentsInvalidAmount(amount);
        b.funded += uint80(amount);
        if (!_pull(client, amount)) revert SubcontractPaymentsTransferFailed(client, address(this), amount);
        emit BucketFunded(projectId, purpose, client, amount);
    }

    /// @inheritdoc ISubcontractPayments
    function directPay(
        uint256 claimId,
        uint256 line,
        uint8 ground,
        address client,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash =
            keccak256(abi.encode(DIRECT_PAYMENT_TYPEHASH, claimId, line, ground, client, nonce, deadline));
        _checkSignature(client, nonce, deadline, structHash, signature);
        _directPay(claimId, line, ground, client);
    }

    function _directPay(uint256 claimId, uint256 line, uint8 ground, address client) private {
        Claim storage c = _claimOf(claimId);
        uint256 projectId = c.projectId;
        _openProjectOf(projectId, client);
        if (c.approvedAt == 0) revert SubcontractPaymentsNotApproved(claimId);
        if (line >= c.lineCount) revert SubcontractPaymentsUnknownLine(claimId, line);
        uint256 packed = _lines[claimId][line];
        uint8 purpose = uint8(packed >> 160);
        if (ground == 0 || ground > uint8(DirectPaymentGround.NoPaymentGuarantee) || purpose != uint8(Purpose.Subcontract))
        {
            revert SubcontractPaymentsInvalidDirectPayment(claimId, line, ground);
        }
        uint256 bit = 1 << line;
        uint256 status = _status[claimId];
        if ((status >> 128) & bit != 0) revert SubcontractPaymentsAlreadyPaid(claimId, line);
        _status[claimId] = status | bit | (bit << 128);
        uint256 amount = packed >> 168;
        _debit(projectId, purpose, amount);
        emit DirectPaymentMade(claimId, projectId, client, line, ground);
        _payLine(projectId, claimId, line, packed, _dueOf(c));
    }

    /// @inheritdoc ISubcontractPayments
    function closeProject(uint256 projectId, address client, uint256 nonce, uint256 deadline, bytes calldata signature)
        external
    {
        bytes32 structHash = keccak256(abi.encode(CLOSE_PROJECT_TYPEHASH, projectId, client, nonce, deadline));
        _checkSignature(client, nonce, deadline, structHash, signature);
        Project storage p = _openProjectOf(projectId, client);
        p.closed = true;
        // Sum of the refunds below, accumulated from zero.
        // slither-disable-next-line uninitialized-local
        uint256 refunded;
        for (uint256 purpose = 1; purpose <= _PURPOSES; ++purpose) {
            Bucket storage b = _buckets[projectId][purpose];
            uint256 rest = uint256(b.funded) - b.paid - b.refunded;
            if (rest == 0) continue;
            b.refunded += uint80(rest);
            refunded += rest;
            emit BucketRefunded(projectId, uint8(purpose), client, rest);
        }
        if (refunded != 0 && !_push(client, refunded)) {
            revert SubcontractPaymentsTransferFailed(address(this), client, refunded);
        }
        emit ProjectClosed(projectId, client, refunded);
    }

    // ---------------------------------------------------------------- claim flow

    /// @inheritdoc ISubcontractPayments
    function submitClaim(
        uint256 projectId,
        Line[] calldata lines,
        address prime,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 claimId) {
        bytes32 structHash =
            keccak256(abi.encode(SUBMIT_CLAIM_TYPEHASH, projectId, _hashLines(lines), prime, nonce, deadline));
        _checkSignature(prime, nonce, deadline, structHash, signature);
        return _submit(projectId, lines, prime);
    }

    function _hashLines(Line[] calldata lines) private pure returns (bytes32) {
        uint256 n = lines.length;
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            Line calldata l = lines[i];
            hashes[i] = keccak256(abi.encode(LINE_TYPEHASH, l.payee, l.purpose, l.amount, l.evidence));
        }
        return keccak256(abi.encodePacked(hashes));
    }

    function _submit(uint256 projectId, Line[] calldata lines, address prime) private returns (uint256 claimId) {
        uint256 n = lines.length;
        Project storage p = _projectOf(projectId);
        if (p.closed) revert SubcontractPaymentsProjectClosed(projectId);
        if (p.prime != prime) revert SubcontractPaymentsUnauthorized(prime, bytes32(0));
        if (n == 0 || n > _MAX_LINES) revert SubcontractPaymentsInvalidLineCount(n);
        claimId = ++_claimCount;
        _claims[claimId] = Claim({
            projectId: uint64(projectId),
            lineCount: uint16(n),
            submittedAt: uint40(block.timestamp),
            approvedAt: 0,
            paidAt: 0
        });
        p.claimCount += 1;
        // Bitmaps and sums accumulated from zero.
        // slither-disable-next-line uninitialized-local
        uint256 confirmed;
        // slither-disable-next-line uninitialized-local
        uint256 total;
        for (uint256 i; i < n; ++i) {
            Line calldata l = lines[i];
            if (_needsConfirmation(projectId, prime, l.payee, l.purpose, l.amount)) {
                // stays unconfirmed
            } else {
                confirmed |= 1 << i;
            }
            total += l.amount;
            _lines[claimId][i] = uint256(uint160(l.payee)) | (uint256(l.purpose) << 160) | (l.amount << 168);
        }
        _status[claimId] = confirmed;
        // The claim first, then its lines: a reader meets the claim before anything that names it.
        emit ClaimSubmitted(claimId, projectId, prime, n, total);
        for (uint256 i; i < n; ++i) {
            Line calldata l = lines[i];
            emit ClaimLineAdded(claimId, projectId, l.payee, i, l.purpose, l.amount, l.evidence);
        }
    }

    /// @inheritdoc ISubcontractPayments
    function confirmLines(
        uint256 claimId,
        uint256 lines,
        address confirmer,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash = keccak256(abi.encode(CONFIRM_LINES_TYPEHASH, claimId, lines, confirmer, nonce, deadline));
        _checkSignature(confirmer, nonce, deadline, structHash, signature);
        _confirm(claimId, lines, confirmer);
    }

    function _confirm(uint256 claimId, uint256 lines, address confirmer) private {
        Claim storage c = _claimOf(claimId);
        uint256 projectId = c.projectId;
        Project storage p = _projectOf(projectId);
        if (p.closed) revert SubcontractPaymentsProjectClosed(projectId);
        uint256 n = c.lineCount;
        if (lines == 0 || lines >> n != 0) {
            revert SubcontractPaymentsUnknownLine(claimId, lines == 0 ? 0 : _highestBit(lines));
        }
        uint256 confirmed = _status[claimId];
        address prime = p.prime;
        for (uint256 i; i < n; ++i) {
            if ((lines >> i) & 1 == 0) continue;
            if ((confirmed >> i) & 1 != 0) revert SubcontractPaymentsAlreadyConfirmed(claimId, i);
            uint256 packed = _lines[claimId][i];
            uint8 purpose = uint8(packed >> 160);
            // address(0) for purposes nobody confirms; it then never equals a confirmer's address.
            // slither-disable-next-line uninitialized-local
            address responsible;
            if (purpose == uint8(Purpose.Labour)) {
                responsible = address(uint160(_participants[projectId][address(uint160(packed))] >> 8));
            } else if (purpose == uint8(Purpose.Subcontract)) {
                responsible = prime;
            }
            if (responsible != confirmer) revert SubcontractPaymentsUnauthorizedConfirmer(claimId, i, confirmer);
        }
        _status[claimId] = confirmed | lines;
        emit LinesConfirmed(claimId, projectId, confirmer, lines);
    }

    /// @inheritdoc ISubcontractPayments
    function approveClaim(uint256 claimId, address inspector, uint256 nonce, uint256 deadline, bytes calldata signature)
        external
    {
        bytes32 structHash = keccak256(abi.encode(APPROVE_CLAIM_TYPEHASH, claimId, inspector, nonce, deadline));
        _checkSignature(inspector, nonce, deadline, structHash, signature);
        if (!hasRole(INSPECTOR_ROLE, inspector)) revert SubcontractPaymentsUnauthorized(inspector, INSPECTOR_ROLE);
        Claim storage c = _claimOf(claimId);
        uint256 projectId = c.projectId;
        if (_projectOf(projectId).closed) revert SubcontractPaymentsProjectClosed(projectId);
        if (c.approvedAt != 0) revert SubcontractPaymentsAlreadyApproved(claimId);
        c.approvedAt = uint40(block.timestamp);
        emit ClaimApproved(claimId, projectId, inspector);
    }

    /// @inheritdoc ISubcontractPayments
    function settle(uint256 claimId) external returns (uint256 lines) {
        Claim storage c = _claimOf(claimId);
        uint256 projectId = c.projectId;
        if (_projects[projectId].closed) revert SubcontractPaymentsProjectClosed(projectId);
        if (c.approvedAt == 0) revert SubcontractPaymentsNotApproved(claimId);
        uint256 n = c.lineCount;
        uint256 all = (1 << n) - 1;
        uint256 status = _status[claimId];
        uint256 paid = status >> 128;
        if (paid == all) revert SubcontractPaymentsAlreadySettled(claimId);
        lines = status & ~paid & all;
        if (lines == 0) revert SubcontractPaymentsNothingPayable(claimId);
        _status[claimId] = status | (lines << 128);
        uint40 paidAt = c.paidAt;
        if (paidAt == 0) {
            paidAt = uint40(block.timestamp);
            c.paidAt = paidAt;
        }
        uint256 total = _payLines(projectId, claimId, n, lines, uint256(paidAt) + _DUE_PERIOD);
        emit ClaimSettled(claimId, projectId, lines, total, paidAt);
    }

    /// @dev Pays the lines in `lines`, then debits each bucket once; returns the total.
    function _payLines(uint256 projectId, uint256 claimId, uint256 n, uint256 lines, uint256 due)
        private
        returns (uint256 total)
    {
        // Per-purpose sums, accumulated from zero.
        // slither-disable-next-line uninitialized-local
        uint256[6] memory totals;
        for (uint256 i; i < n; ++i) {
            if ((lines >> i) & 1 == 0) continue;
            uint256 packed = _lines[claimId][i];
            totals[uint8(packed >> 160)] += packed >> 168;
            _payLine(projectId, claimId, i, packed, due);
        }
        for (uint256 purpose = 1; purpose <= _PURPOSES; ++purpose) {
            uint256 amount = totals[purpose];
            if (amount == 0) continue;
            total += amount;
            _debit(projectId, purpose, amount);
        }
    }

    // ---------------------------------------------------------------- withdrawals

    /// @inheritdoc ISubcontractPayments
    function withdraw(address payee) external {
        _withdraw(payee, payee);
    }

    /// @inheritdoc ISubcontractPayments
    function withdrawTo(address payee, address to, uint256 nonce, uint256 deadline, bytes calldata signature) external {
        bytes32 structHash = keccak256(abi.encode(WITHDRAW_TYPEHASH, payee, to, nonce, deadline));
        (address signer, uint256 citizenId) = _withdrawSigner(payee);
        _checkSignature(signer, nonce, deadline, structHash, signature);
        if (to == address(0)) revert SubcontractPaymentsZeroAddress();
        if (citizenId != 0 && _registry.citizenIdOf(to) != citizenId) revert SubcontractPaymentsNotOwnAccount(payee, to);
        _withdraw(payee, to);
    }

    /// @inheritdoc ISubcontractPayments
    function withdrawSignerOf(address payee) external view returns (address signer) {
        (signer,) = _withdrawSigner(payee);
    }

    /// @dev The payee signs; for a citizen's key that was rotated away or recovered (lost
    /// device), the citizen's current key signs instead.
    function _withdrawSigner(address payee) private view returns (address signer, uint256 citizenId) {
        signer = payee;
        citizenId = _registry.citizenIdOf(payee);
        if (citizenId == 0) {
            citizenId = _registry.retiredCitizenIdOf(payee);
            if (citizenId != 0) signer = _registry.accountOf(citizenId);
        }
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ISubcontractPayments
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc ISubcontractPayments
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc ISubcontractPayments
    function projectCount() external view returns (uint256) {
        return _projectCount;
    }

    /// @inheritdoc ISubcontractPayments
    function claimCount() external view returns (uint256) {
        return _claimCount;
    }

    /// @inheritdoc ISubcontractPayments
    function projectOf(uint256 projectId) external view returns (ProjectView memory) {
        Project storage p = _projects[projectId];
        return ProjectView({
            client: p.client, prime: p.prime, registeredAt: p.registeredAt, closed: p.closed, claimCount: p.claimCount
        });
    }

    /// @inheritdoc ISubcontractPayments
    function participantOf(uint256 projectId, address account)
        external
        view
        returns (uint8 role, address employer, uint256 contractAmount)
    {
        uint256 packed = _participants[projectId][account];
        return (uint8(packed), address(uint160(packed >> 8)), packed >> 168);
    }

    /// @inheritdoc ISubcontractPayments
    function bucketOf(uint256 projectId, uint8 purpose) external view returns (BucketView memory) {
        Bucket storage b = _buckets[projectId][purpose];
        return BucketView({
            funded: b.funded, paid: b.paid, refunded: b.refunded, balance: uint256(b.funded) - b.paid - b.refunded
        });
    }

    /// @inheritdoc ISubcontractPayments
    function claimOf(uint256 claimId) external view returns (ClaimView memory) {
        Claim storage c = _claims[claimId];
        return ClaimView({
            projectId: c.projectId,
            lineCount: c.lineCount,
            submittedAt: c.submittedAt,
            approvedAt: c.approvedAt,
            paidAt: c.paidAt,
            subcontractDue: c.paidAt == 0 ? 0 : uint40(c.paidAt + _DUE_PERIOD),
            confirmedLines: _status[claimId] & _LOW128,
            paidLines: _status[claimId] >> 128
        });
    }

    /// @inheritdoc ISubcontractPayments
    function lineOf(uint256 claimId, uint256 line) external view returns (address payee, uint8 purpose, uint256 amount) {
        uint256 packed = _lines[claimId][line];
        return (address(uint160(packed)), uint8(packed >> 160), packed >> 168);
    }

    /// @inheritdoc ISubcontractPayments
    function lateInterest(uint256 claimId, uint256 line, uint256 at) external view returns (uint256) {
        uint256 packed = _lines[claimId][line];
        if (uint8(packed >> 160) != uint8(Purpose.Subcontract)) return 0;
        return _interest(packed >> 168, _dueOf(_claims[claimId]), at);
    }

    /// @inheritdoc ISubcontractPayments
    function withdrawableOf(address payee) external view returns (uint256) {
        return _withdrawable[payee];
    }

    /// @inheritdoc ISubcontractPayments
    function totalWithdrawable() external view returns (uint256) {
        return _totalWithdrawable;
    }

    /// @inheritdoc ISubcontractPayments
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- internals

    function _checkSignature(
        address signer,
        uint256 nonce,
        uint256 deadline,
        bytes32 structHash,
        bytes calldata signature
    ) private {
        if (block.timestamp > deadline) revert SubcontractPaymentsSignatureExpired(deadline);
        if (!SignatureChecker.isValidSignatureNow(signer, _hashTypedDataV4(structHash), signature)) {
            revert SubcontractPaymentsInvalidSignature(signer);
        }
        _useCheckedNonce(signer, nonce);
    }

    function _hashParticipants(Participant[] calldata participants) private pure returns (bytes32) {
        uint256 n = participants.length;
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            Participant calldata q = participants[i];
            hashes[i] = keccak256(abi.encode(PARTICIPANT_TYPEHASH, q.account, q.role, q.employer, q.contractAmount));
        }
        return keccak256(abi.encodePacked(hashes));
    }

    function _addParticipants(uint256 projectId, address prime, Participant[] calldata participants) private {
        for (uint256 i; i < participants.length; ++i) {
            Participant calldata q = participants[i];
            address account = q.account;
            if (account == address(0)) revert SubcontractPaymentsZeroAddress();
            if (_participants[projectId][account] != 0) revert SubcontractPaymentsAlreadyParticipant(projectId, account);
            uint8 role = q.role;
            // Stays address(0) for subcontractors and suppliers, which have no employer.
            // slither-disable-next-line uninitialized-local
            address employer;
            if (role == uint8(Role.Worker)) {
                employer = q.employer;
                if (employer != prime && uint8(_participants[projectId][employer]) != uint8(Role.Subcontractor)) {
                    revert SubcontractPaymentsInvalidEmployer(account, employer);
                }
                if (!_registry.isActive(account)) revert SubcontractPaymentsNotActiveCitizen(account);
            } else if (role != uint8(Role.Subcontractor) && role != uint8(Role.Supplier)) {
                revert SubcontractPaymentsInvalidRole(account, role);
            } else if (q.employer != address(0)) {
                revert SubcontractPaymentsInvalidEmployer(account, q.employer);
            }
            _participants[projectId][account] =
                uint256(role) | (uint256(uint160(employer)) << 8) | (_cap(q.contractAmount) << 168);
            emit ParticipantRegistered(projectId, account, role, employer, q.contractAmount);
        }
    }

    /// @dev Checks a line's payee against its purpose; true when someone must still confirm it.
    function _needsConfirmation(uint256 projectId, address prime, address payee, uint8 purpose, uint256 amount)
        private
        view
        returns (bool)
    {
        if (amount == 0 || amount > _MAX_AMOUNT) revert SubcontractPaymentsInvalidAmount(amount);
        _checkPurpose(purpose);
        uint256 packed = _participants[projectId][payee];
        uint8 role = uint8(packed);
        uint8 wanted = purpose == uint8(Purpose.Labour)
            ? uint8(Role.Worker)
            : purpose == uint8(Purpose.Subcontract)
                ? uint8(Role.Subcontractor)
                : purpose == uint8(Purpose.Prime) ? uint8(Role.Prime) : uint8(Role.Supplier);
        if (role != wanted) revert SubcontractPaymentsPayeeNotEligible(projectId, payee, purpose);
        if (purpose == uint8(Purpose.Labour)) {
            if (!_registry.isActive(payee)) revert SubcontractPaymentsNotActiveCitizen(payee);
            // The prime signed the claim: its own workers' lines need no second confirmation.
            return address(uint160(packed >> 8)) != prime;
        }
        return purpose == uint8(Purpose.Subcontract);
    }

    /// @dev Pushes one line to its payee, or credits it; emits LinePaid / LineCredited.
    function _payLine(uint256 projectId, uint256 claimId, uint256 line, uint256 packed, uint256 due) private {
        address payee = address(uint160(packed));
        uint8 purpose = uint8(packed >> 160);
        uint256 amount = packed >> 168;
        // No late-payment interest except on subcontract lines.
        // slither-disable-next-line uninitialized-local
        uint256 interest;
        if (purpose == uint8(Purpose.Subcontract)) {
            interest = _interest(amount, due, block.timestamp);
        } else {
            due = 0;
        }
        bool pushed = purpose != uint8(Purpose.Labour) || _registry.isActive(payee);
        if (pushed) pushed = _push(payee, amount);
        if (pushed) {
            emit LinePaid(projectId, claimId, payee, line, purpose, amount, due, interest);
        } else {
            _withdrawable[payee] += amount;
            if (_withdrawableFrom[payee][projectId] == 0) _creditProjects[payee].push(projectId);
            _withdrawableFrom[payee][projectId] += amount;
            _totalWithdrawable += amount;
            emit LineCredited(projectId, claimId, payee, line, purpose, amount, due, interest);
        }
    }

    function _debit(uint256 projectId, uint256 purpose, uint256 amount) private {
        Bucket storage b = _buckets[projectId][purpose];
        uint256 balance = uint256(b.funded) - b.paid - b.refunded;
        if (amount > balance) revert SubcontractPaymentsOverdraft(projectId, uint8(purpose), balance, amount);
        b.paid += uint80(amount);
    }

    function _withdraw(address payee, address to) private {
        uint256 amount = _withdrawable[payee];
        if (amount == 0) revert SubcontractPaymentsNothingToWithdraw(payee);
        _withdrawable[payee] = 0;
        _totalWithdrawable -= amount;
        uint256[] storage projects = _creditProjects[payee];
        uint256 count = projects.length;
        for (uint256 i; i < count; ++i) {
            uint256 projectId = projects[i];
            uint256 part = _withdrawableFrom[payee][projectId];
            delete _withdrawableFrom[payee][projectId];
            emit CreditWithdrawn(projectId, payee, to, part);
        }
        delete _creditProjects[payee];
        if (!_push(to, amount)) revert SubcontractPaymentsTransferFailed(address(this), to, amount);
    }

    /// @dev `token.transfer(to, amount)` that reports failure instead of reverting.
    function _push(address to, uint256 amount) private returns (bool ok) {
        if (gasleft() < _TRANSFER_GAS + 10_000) revert SubcontractPaymentsInsufficientGas(gasleft());
        address t = address(_token);
        bytes4 selector = IERC20.transfer.selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            // `to` may come from a packed word: clear the upper bits the compiler has not cleaned.
            mstore(add(ptr, 4), and(to, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(ptr, 36), amount)
            ok := call(_TRANSFER_GAS, t, 0, ptr, 68, 0, 32)
            ok := and(ok, or(iszero(returndatasize()), and(gt(returndatasize(), 31), eq(mload(0), 1))))
        }
    }

    /// @dev `token.transferFrom(from, this, amount)` that reports failure instead of reverting.
    function _pull(address from, uint256 amount) private returns (bool ok) {
        address t = address(_token);
        bytes4 selector = IERC20.transferFrom.selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 4), and(from, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(ptr, 36), address())
            mstore(add(ptr, 68), amount)
            ok := call(gas(), t, 0, ptr, 100, 0, 32)
            ok := and(ok, or(iszero(returndatasize()), and(gt(returndatasize(), 31), eq(mload(0), 1))))
        }
    }

    function _interest(uint256 amount, uint256 due, uint256 at) private pure returns (uint256) {
        // due == 0 is the "no due date" sentinel, not a time compared for equality.
        // slither-disable-next-line incorrect-equality
        if (due == 0 || at <= due) return 0;
        return (amount * _INTEREST_NUM * (at - due)) / _INTEREST_DEN;
    }

    function _dueOf(Claim storage c) private view returns (uint256) {
        return c.paidAt == 0 ? 0 : uint256(c.paidAt) + _DUE_PERIOD;
    }

    function _checkPurpose(uint256 purpose) private pure {
        if (purpose == 0 || purpose > _PURPOSES) revert SubcontractPaymentsInvalidPurpose(uint8(purpose));
    }

    function _cap(uint256 amount) private pure returns (uint256) {
        if (amount > type(uint88).max) revert SubcontractPaymentsInvalidAmount(amount);
        return amount;
    }

    function _highestBit(uint256 x) private pure returns (uint256 r) {
        while (x > 1) {
            x >>= 1;
            ++r;
        }
    }

    function _projectOf(uint256 projectId) private view returns (Project storage p) {
        p = _projects[projectId];
        if (p.client == address(0)) revert SubcontractPaymentsUnknownProject(projectId);
    }

    function _openProjectOf(uint256 projectId, address client) private view returns (Project storage p) {
        p = _projectOf(projectId);
        if (p.client != client) revert SubcontractPaymentsUnauthorized(client, CLIENT_ROLE);
        if (p.closed) revert SubcontractPaymentsProjectClosed(projectId);
    }

    function _claimOf(uint256 claimId) private view returns (Claim storage c) {
        c = _claims[claimId];
        if (c.lineCount == 0) revert SubcontractPaymentsUnknownClaim(claimId);
    }
}

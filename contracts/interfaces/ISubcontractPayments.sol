// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Automatic subcontract payment (하도급 대금 자동지급, cf. Seoul's 대금e바로)
/// @notice Public works money goes from the city straight to each subcontractor, supplier and
/// worker. A city department (`CLIENT_ROLE`) registers a project with its prime contractor,
/// subcontractors, suppliers and workers (workers must be active citizens) and funds purpose
/// buckets (labour, subcontract, material, equipment, prime). The prime submits a claim of
/// payment lines (payee, purpose, amount, evidence hash). Approvals are EIP-712 signatures
/// relayed by anyone (domain name "SubcontractPayments", version "1"): the employer
/// (subcontractor or prime) confirms its workers' labour lines, the prime confirms subcontract
/// lines, and an inspector (`INSPECTOR_ROLE`) approves the claim. `settle` then pays every
/// approved, confirmed, unpaid line directly from its bucket, in one transaction; a payee that
/// can not receive (the token reverts) is credited to withdraw later.
/// @dev Subcontracting law: the prime must pay a subcontractor within 15 days of being paid by
/// the client. A claim's `paidAt` is when the client first paid the claim (its first
/// settlement); a subcontract line paid after `paidAt + 15 days` is late and carries interest
/// of 15.5% a year on the amount, for the time since the due date (recorded in the event). The
/// client may pay a subcontract line directly, without the prime's confirmation, on one of the
/// legal grounds ({DirectPaymentGround}), which is recorded. Amounts are whole won.
interface ISubcontractPayments {
    /// @notice What a payment line is for; also the bucket it is paid from.
    enum Purpose {
        None,
        /// @dev 1: wages, only to registered workers of the project (active citizens)
        Labour,
        /// @dev 2: subcontract price, only to registered subcontractors
        Subcontract,
        /// @dev 3: materials, only to registered suppliers
        Material,
        /// @dev 4: equipment, only to registered suppliers
        Equipment,
        /// @dev 5: the prime contractor's own share
        Prime
    }

    /// @notice A participant's role in a project.
    enum Role {
        None,
        Prime,
        Subcontractor,
        Supplier,
        Worker
    }

    /// @notice Legal grounds on which the client pays a subcontractor directly.
    enum DirectPaymentGround {
        None,
        /// @dev 1: agreement of client, prime and subcontractor
        ThreePartyAgreement,
        /// @dev 2: the prime is insolvent (bankruptcy, suspended payments, licence revoked)
        PrimeInsolvency,
        /// @dev 3: the prime missed two instalments to the subcontractor
        TwoMissedInstalments,
        /// @dev 4: the prime gave no payment guarantee
        NoPaymentGuarantee
    }

    /// @notice A participant as registered by the client (EIP-712 struct
    /// `Participant(address account,uint8 role,address employer,uint256 contractAmount)`).
    /// @param account the participant's address (for workers: their citizen key)
    /// @param role {Role} code 2..4 (the prime is given separately)
    /// @param employer for a worker: the prime or a subcontractor of the project, who confirms
    /// the worker's labour lines; zero for other roles
    /// @param contractAmount the participant's contract amount in won (0 for workers)
    struct Participant {
        address account;
        uint8 role;
        address employer;
        uint256 contractAmount;
    }

    /// @notice A payment line of a claim (EIP-712 struct
    /// `Line(address payee,uint8 purpose,uint256 amount,bytes32 evidence)`).
    /// @param evidence hash of the supporting document (time sheet, invoice, delivery note);
    /// only emitted, not stored
    struct Line {
        address payee;
        uint8 purpose;
        uint256 amount;
        bytes32 evidence;
    }

    /// @notice A project, as returned by {projectOf}.
    struct ProjectView {
        address client;
        address prime;
        uint40 registeredAt;
        bool closed;
        uint256 claimCount;
    }

    /// @notice One purpose bucket: `balance = funded - paid - refunded`.
    struct BucketView {
        uint256 funded;
        uint256 paid;
        uint256 refunded;
        uint256 balance;
    }

    /// @notice A claim, as returned by {claimOf}.
    /// @param paidAt when the claim was first settled (the client paid it), 0 before
    /// @param subcontractDue `paidAt + 15 days` (0 before the first settlement)
    /// @param confirmedLines bit i set: line i needs no more confirmation
    /// @param paidLines bit i set: line i was paid or credited
    struct ClaimView {
        uint256 projectId;
        uint256 lineCount;
        uint40 submittedAt;
        uint40 approvedAt;
        uint40 paidAt;
        uint40 subcontractDue;
        uint256 confirmedLines;
        uint256 paidLines;
    }

    // ---------------------------------------------------------------- events

    /// @notice A project was registered by `client` with `prime` as prime contractor.
    event ProjectRegistered(
        uint256 indexed projectId, address indexed client, address indexed prime, bytes32 projectRef, uint256 contractAmount
    );
    /// @notice A participant joined a project.
    event ParticipantRegistered(
        uint256 indexed projectId, address indexed account, uint8 role, address indexed employer, uint256 contractAmount
    );
    /// @notice `funder` moved `amount` won into the `purpose` bucket of a project.
    event BucketFunded(uint256 indexed projectId, uint8 indexed purpose, address indexed funder, uint256 amount);
    /// @notice The prime submitted a claim of `lineCount` lines totalling `total` won.
    event ClaimSubmitted(
        uint256 indexed claimId, uint256 indexed projectId, address indexed prime, uint256 lineCount, uint256 total
    );
    /// @notice Line `line` of a claim (emitted once per line at submission, after its {ClaimSubmitted}).
    event ClaimLineAdded(
        uint256 indexed claimId,
        uint256 indexed projectId,
        address indexed payee,
        uint256 line,
        uint8 purpose,
        uint256 amount,
        bytes32 evidence
    );
    /// @notice `confirmer` confirmed the lines in bit mask `lines` of a claim of project `projectId`.
    event LinesConfirmed(uint256 indexed claimId, uint256 indexed projectId, address indexed confirmer, uint256 lines);
    /// @notice An inspector approved the claim.
    event ClaimApproved(uint256 indexed claimId, uint256 indexed projectId, address indexed inspector);
    /// @notice A line was paid straight to its payee. `due` is the subcontract due date (0 for
    /// other purposes); `interest` the late interest owed (0 when on time).
    event LinePaid(
        uint256 indexed projectId,
        uint256 indexed claimId,
        address indexed payee,
        uint256 line,
        uint8 purpose,
        uint256 amount,
        uint256 due,
        uint256 interest
    );
    /// @notice A line could not be pushed to its payee (the token refused it, or a worker was not
    /// active) and was credited to `withdrawableOf(payee)` instead; same fields as {LinePaid}.
    event LineCredited(
        uint256 indexed projectId,
        uint256 indexed claimId,
        address indexed payee,
        uint256 line,
        uint8 purpose,
        uint256 amount,
        uint256 due,
        uint256 interest
    );
    /// @notice A settlement finished: `lines` is the bit mask paid or credited now, `total` their sum.
    event ClaimSettled(uint256 indexed claimId, uint256 indexed projectId, uint256 lines, uint256 total, uint40 paidAt);
    /// @notice The client paid subcontract line `line` directly on `ground`.
    event DirectPaymentMade(
        uint256 indexed claimId, uint256 indexed projectId, address indexed client, uint256 line, uint8 ground
    );
    /// @notice `amount` won credited to `payee` by project `projectId` was transferred to `to` (a
    /// withdrawal emits one event per project the payee had credit from).
    event CreditWithdrawn(uint256 indexed projectId, address indexed payee, address indexed to, uint256 amount);
    /// @notice On closing, the rest of a bucket went back to the client.
    event BucketRefunded(uint256 indexed projectId, uint8 indexed purpose, address indexed client, uint256 amount);
    /// @notice The project was closed: no more funding, claims or payments.
    event ProjectClosed(uint256 indexed projectId, address indexed client, uint256 refunded);

    // ---------------------------------------------------------------- errors

    /// @notice An address argument was the zero address.
    /// @custom:http 422
    error SubcontractPaymentsZeroAddress();
    /// @notice The signed message's `deadline` has passed.
    /// @custom:http 422
    error SubcontractPaymentsSignatureExpired(uint256 deadline);
    /// @notice The signature is not `expectedSigner`'s signature of the message.
    /// @custom:http 403
    error SubcontractPaymentsInvalidSignature(address expectedSigner);
    /// @notice `signer` lacks `role` (CLIENT_ROLE / INSPECTOR_ROLE) or is not the project's client / prime.
    /// @custom:http 403
    error SubcontractPaymentsUnauthorized(address signer, bytes32 role);
    /// @notice `signer` is not the confirmer of line `line` (the worker's employer, or the prime
    /// for a subcontract line), or the line needs no confirmation.
    /// @custom:http 403
    error SubcontractPaymentsUnauthorizedConfirmer(uint256 claimId, uint256 line, address signer);
    /// @notice No project has id `projectId`.
    /// @custom:http 404
    error SubcontractPaymentsUnknownProject(uint256 projectId);
    /// @notice No claim has id `claimId`.
    /// @custom:http 404
    error SubcontractPaymentsUnknownClaim(uint256 claimId);
    /// @notice Line `line` does not exist in the claim.
    /// @custom:http 404
    error SubcontractPaymentsUnknownLine(uint256 claimId, uint256 line);
    /// @notice The project is closed.
    /// @custom:http 409
    error SubcontractPaymentsProjectClosed(uint256 projectId);
    /// @notice `account` is already a participant of the project.
    /// @custom:http 409
    error SubcontractPaymentsAlreadyParticipant(uint256 projectId, address account);
    /// @notice `role` is not a participant role the call accepts.
    /// @custom:http 422
    error SubcontractPaymentsInvalidRole(address account, uint8 role);
    /// @notice A worker's `employer` is not the prime or a subcontractor of the project.
    /// @custom:http 422
    error SubcontractPaymentsInvalidEmployer(address worker, address employer);
    /// @notice A worker's address is not an active citizen.
    /// @custom:http 422
    error SubcontractPaymentsNotActiveCitizen(address account);
    /// @notice `purpose` is not a purpose code 1..5.
    /// @custom:http 422
    error SubcontractPaymentsInvalidPurpose(uint8 purpose);
    /// @notice A line's amount is 0 or above 2^80-1, or a funding amount is 0 or too large.
    /// @custom:http 422
    error SubcontractPaymentsInvalidAmount(uint256 amount);
    /// @notice A claim has no lines or more than 128.
    /// @custom:http 422
    error SubcontractPaymentsInvalidLineCount(uint256 lineCount);
    /// @notice `payee` does not have the role `purpose` requires (e.g. a labour line to a non-worker).
    /// @custom:http 422
    error SubcontractPaymentsPayeeNotEligible(uint256 projectId, address payee, uint8 purpose);
    /// @notice Line `line` was already confirmed.
    /// @custom:http 409
    error SubcontractPaymentsAlreadyConfirmed(uint256 claimId, uint256 line);
    /// @notice The claim was already approved.
    /// @custom:http 409
    error SubcontractPaymentsAlreadyApproved(uint256 claimId);
    /// @notice The claim is not approved by an inspector yet.
    /// @custom:http 409
    error SubcontractPaymentsNotApproved(uint256 claimId);
    /// @notice Every line of the claim was already paid.
    /// @custom:http 409
    error SubcontractPaymentsAlreadySettled(uint256 claimId);
    /// @notice Line `line` was already paid.
    /// @custom:http 409
    error SubcontractPaymentsAlreadyPaid(uint256 claimId, uint256 line);
    /// @notice No unpaid line of the claim is confirmed yet.
    /// @custom:http 409
    error SubcontractPaymentsNothingPayable(uint256 claimId);
    /// @notice The `purpose` bucket holds `balance` won, `required` are needed.
    /// @custom:http 409
    error SubcontractPaymentsOverdraft(uint256 projectId, uint8 purpose, uint256 balance, uint256 required);
    /// @notice `ground` is not a direct payment ground 1..4, or the line is not a subcontract line.
    /// @custom:http 422
    error SubcontractPaymentsInvalidDirectPayment(uint256 claimId, uint256 line, uint8 ground);
    /// @notice Nothing is credited to `payee`.
    /// @custom:http 409
    error SubcontractPaymentsNothingToWithdraw(address payee);
    /// @notice A worker's credit may only go to an address bound to the same citizen.
    /// @custom:http 403
    error SubcontractPaymentsNotOwnAccount(address payee, address to);
    /// @notice The transfer of funds into or out of the escrow failed.
    /// @custom:http 422
    error SubcontractPaymentsTransferFailed(address from, address to, uint256 amount);
    /// @notice Too little gas left to push a payment safely (the relayer must send more gas).
    /// @custom:http 503
    error SubcontractPaymentsInsufficientGas(uint256 gasLeft);

    // ---------------------------------------------------------------- client actions

    /// @notice Registers a project; the new id is `projectCount()`. Signed by `client` (who must
    /// hold `CLIENT_ROLE`) as
    /// `RegisterProject(bytes32 projectRef,address prime,uint256 contractAmount,Participant[] participants,address client,uint256 nonce,uint256 deadline)Participant(address account,uint8 role,address employer,uint256 contractAmount)`.
    /// @param projectRef hash of the public works contract document
    /// @param prime the prime contractor
    /// @param contractAmount the prime contract amount in won
    /// @param participants subcontractors, suppliers and workers, in order (a worker's employer
    /// must be the prime or a subcontractor listed before it); workers must be active citizens
    function registerProject(
        bytes32 projectRef,
        address prime,
        uint256 contractAmount,
        Participant[] calldata participants,
        address client,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 projectId);

    /// @notice Adds participants to an open project. Signed by the project's client as
    /// `AddParticipants(uint256 projectId,Participant[] participants,address client,uint256 nonce,uint256 deadline)Participant(address account,uint8 role,address employer,uint256 contractAmount)`.
    function addParticipants(
        uint256 projectId,
        Participant[] calldata participants,
        address client,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Moves `amount` won from `client` (who must have approved this contract on the
    /// token, e.g. by ERC-2612 permit) into the `purpose` bucket. Signed by the project's client as
    /// `FundProject(uint256 projectId,uint8 purpose,uint256 amount,address client,uint256 nonce,uint256 deadline)`.
    function fund(
        uint256 projectId,
        uint8 purpose,
        uint256 amount,
        address client,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Pays subcontract line `line` of an approved claim directly, without the prime's
    /// confirmation, on legal `ground` (1..4). Signed by the project's client as
    /// `DirectPayment(uint256 claimId,uint256 line,uint8 ground,address client,uint256 nonce,uint256 deadline)`.
    function directPay(
        uint256 claimId,
        uint256 line,
        uint8 ground,
        address client,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Closes the project and returns every bucket's balance to the client. Unpaid lines
    /// can not be paid afterwards; credited amounts can still be withdrawn. Signed by the
    /// project's client as `CloseProject(uint256 projectId,address client,uint256 nonce,uint256 deadline)`.
    function closeProject(uint256 projectId, address client, uint256 nonce, uint256 deadline, bytes calldata signature)
        external;

    // ---------------------------------------------------------------- claim flow

    /// @notice The prime submits a claim of 1..128 lines; the new id is `claimCount()`. Each
    /// payee must hold the role its purpose requires (labour: a worker of the project that is an
    /// active citizen). Signed by the project's prime as
    /// `SubmitClaim(uint256 projectId,Line[] lines,address prime,uint256 nonce,uint256 deadline)Line(address payee,uint8 purpose,uint256 amount,bytes32 evidence)`.
    function submitClaim(
        uint256 projectId,
        Line[] calldata lines,
        address prime,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 claimId);

    /// @notice `confirmer` confirms the lines in bit mask `lines` (bit i = line i): each must be a
    /// labour line of one of its workers or, for the prime, a subcontract line. Signed as
    /// `ConfirmLines(uint256 claimId,uint256 lines,address confirmer,uint256 nonce,uint256 deadline)`.
    function confirmLines(
        uint256 claimId,
        uint256 lines,
        address confirmer,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice An inspector (`INSPECTOR_ROLE`) approves the claim. Signed as
    /// `ApproveClaim(uint256 claimId,address inspector,uint256 nonce,uint256 deadline)`.
    function approveClaim(uint256 claimId, address inspector, uint256 nonce, uint256 deadline, bytes calldata signature)
        external;

    /// @notice Pays every confirmed, unpaid line of an approved claim straight to its payee from
    /// its bucket (anyone may call). A line whose transfer fails, or a labour line whose worker
    /// is no longer an active citizen, is credited to the payee instead. Reverts on overdraft.
    /// @return lines bit mask of the lines paid or credited
    function settle(uint256 claimId) external returns (uint256 lines);

    // ---------------------------------------------------------------- withdrawals

    /// @notice Pushes `payee`'s credit to `payee` (anyone may call; fails while it can not receive).
    function withdraw(address payee) external;

    /// @notice Sends `payee`'s credit to `to` (e.g. a new account after a closed one). Signed as
    /// `Withdraw(address payee,address to,uint256 nonce,uint256 deadline)` by {withdrawSignerOf}:
    /// the payee, or, when `payee` is a citizen's key that was rotated away or recovered after a
    /// lost device, the citizen's current key (nonce of that signer). When `payee` is or was a
    /// citizen's key, `to` must be bound to the same citizen (wages only to the worker's own account).
    function withdrawTo(address payee, address to, uint256 nonce, uint256 deadline, bytes calldata signature)
        external;

    /// @notice Who must sign {withdrawTo} for `payee`'s credit.
    function withdrawSignerOf(address payee) external view returns (address signer);

    // ---------------------------------------------------------------- views

    function CLIENT_ROLE() external view returns (bytes32);
    function INSPECTOR_ROLE() external view returns (bytes32);
    function REGISTER_PROJECT_TYPEHASH() external view returns (bytes32);
    function ADD_PARTICIPANTS_TYPEHASH() external view returns (bytes32);
    function PARTICIPANT_TYPEHASH() external view returns (bytes32);
    function FUND_PROJECT_TYPEHASH() external view returns (bytes32);
    function SUBMIT_CLAIM_TYPEHASH() external view returns (bytes32);
    function LINE_TYPEHASH() external view returns (bytes32);
    function CONFIRM_LINES_TYPEHASH() external view returns (bytes32);
    function APPROVE_CLAIM_TYPEHASH() external view returns (bytes32);
    function DIRECT_PAYMENT_TYPEHASH() external view returns (bytes32);
    function CLOSE_PROJECT_TYPEHASH() external view returns (bytes32);
    function WITHDRAW_TYPEHASH() external view returns (bytes32);

    /// @notice The token (KRW) paid out.
    function token() external view returns (address);
    /// @notice The citizen registry workers are checked against.
    function registry() external view returns (address);
    function projectCount() external view returns (uint256);
    function claimCount() external view returns (uint256);
    function projectOf(uint256 projectId) external view returns (ProjectView memory);
    /// @notice A participant's role (0 = not a participant), employer and contract amount.
    function participantOf(uint256 projectId, address account)
        external
        view
        returns (uint8 role, address employer, uint256 contractAmount);
    function bucketOf(uint256 projectId, uint8 purpose) external view returns (BucketView memory);
    function claimOf(uint256 claimId) external view returns (ClaimView memory);
    function lineOf(uint256 claimId, uint256 line) external view returns (address payee, uint8 purpose, uint256 amount);
    /// @notice Late interest a subcontract line would carry if paid at `at` (0 if on time or not
    /// a subcontract line, or the claim was never paid).
    function lateInterest(uint256 claimId, uint256 line, uint256 at) external view returns (uint256);
    /// @notice Won credited to `payee`, waiting to be withdrawn.
    function withdrawableOf(address payee) external view returns (uint256);
    /// @notice Total credited and not yet withdrawn, over all payees.
    function totalWithdrawable() external view returns (uint256);
    function DOMAIN_SEPARATOR() external view returns (bytes32);
}

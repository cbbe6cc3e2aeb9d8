// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ZeroPay-linked mileage (제로페이 연계 마일리지 통합)
/// @notice The city's mileage programs (eco mileage, car-free day, e-tax, citizen health, poll
/// participation, ...) award points into one balance per citizen. Points can not be moved between
/// citizens (there is no transfer of any kind); they are spent only by {redeem} at a registered
/// ZeroPay merchant, signed by the citizen (EIP-712, relayed by anyone), and they expire.
///
/// Programs: registered by the city (`DEFAULT_ADMIN_ROLE`) with a name, an annual cap (points
/// per calendar year, Korea Standard Time) and an awarder address (the per-program PROGRAM
/// role): {award} / {awardBatch} / {importLegacy} are either signed by the awarder (EIP-712,
/// relayed by anyone: the usual way) or, with an empty signature, sent by the awarder itself.
/// Signed awards carry a deadline and no nonce: the award reference is their single-use nonce
/// (a replayed signature finds the reference used and credits nothing).
///
/// Awards are idempotent on `(programId, ref)`: `ref` is the program's own record
/// number (uint64); a reference already used is not awarded again: {award} returns false and
/// emits {AwardSkipped} with reason `Duplicate` instead of reverting, so a program can safely
/// retry. References are kept in a bitmap: numbering them densely keeps awards cheap.
///
/// Epochs and expiry: time is cut into epochs of `EPOCH_LENGTH` (30 days, a "month") from
/// `epochOrigin` (the deployment time). Points credited in epoch `e` are spendable while the
/// current epoch is `< e + validityEpochs` and expire after; `validityEpochs` (1..7, default 6)
/// is set by the city before the first merchant is registered, then fixed. A citizen's points live in one storage slot:
/// the redemption nonce, the head epoch and seven uint28 buckets (head, head-1, ..., head-6), so
/// a citizen holds at most 2^28 - 1 points per epoch. Expiry is lazy: views
/// count unexpired points only; a {redeem} (or a credit that shifts the ring) realises expired
/// buckets by emitting {PointsExpired}, so the sum of the logs is exact at any time together
/// with {pointsOf}'s `expiredUnrealised`. Redemption spends the oldest epoch first.
///
/// Per citizen, always: awarded + imported = balance + redeemed + expired (realised in
/// {PointsExpired} logs + `expiredUnrealised`).
///
/// Keys: points belong to the stable citizen id of {ICitizenRegistry}, so they survive a key
/// rotation. Only the current key of an active citizen can earn or spend.
///
/// Merchants: ZeroPay merchants are registered by `MERCHANT_REGISTRAR_ROLE` (name, salted
/// business-number hash, district). Redeemed points accumulate as the merchant's unsettled
/// amount, which `TREASURY_ROLE` settles (the won are paid off chain) with {settleMerchant}.
interface ICivicMileage {
    /// @notice Why an entry of a batch (or a duplicate single award) was not credited.
    enum SkipReason {
        None,
        /// @dev 1: `(programId, ref)` was awarded before
        Duplicate,
        /// @dev 2: the account is not the current key of an active citizen
        NotActiveCitizen,
        /// @dev 3: this citizen's legacy balance of this program was imported before
        AlreadyImported,
        /// @dev 4: the amount is zero
        ZeroAmount
    }

    /// @notice A program, as returned by {programOf}.
    /// @param awarder the address allowed to award for the program (0: closed)
    /// @param annualCap points the program may award per calendar year (KST)
    /// @param awardedInYear points awarded in `year` (legacy imports excluded)
    /// @param year calendar year `awardedInYear` counts
    /// @param name display name
    struct Program {
        address awarder;
        uint40 annualCap;
        uint40 awardedInYear;
        uint16 year;
        string name;
    }

    /// @notice A merchant, as returned by {merchantOf}.
    /// @param active whether it accepts redemptions
    /// @param district district code 1..25
    /// @param unsettled redeemed points not yet settled by the treasury
    /// @param redeemed all points ever redeemed at it
    /// @param businessNumberHash salted hash of the business registration number
    /// @param name display name
    struct Merchant {
        bool active;
        uint8 district;
        uint96 unsettled;
        uint96 redeemed;
        bytes32 businessNumberHash;
        string name;
    }

    // ---------------------------------------------------------------- events

    /// @notice The validity of points was set (before the first merchant was registered).
    event ValidityEpochsSet(uint8 validityEpochs);
    /// @notice A program was registered.
    event ProgramRegistered(uint32 indexed programId, address indexed awarder, uint40 annualCap, string name);
    /// @notice A program's awarder or cap was changed (awarder 0 closes the program).
    event ProgramUpdated(uint32 indexed programId, address indexed awarder, uint40 annualCap);
    /// @notice A ZeroPay merchant was registered.
    event MerchantRegistered(uint32 indexed merchantId, bytes32 indexed businessNumberHash, uint8 district, string name);
    /// @notice A merchant stopped accepting redemptions.
    event MerchantDeactivated(uint32 indexed merchantId);
    /// @notice `amount` points of program `programId` were credited to citizen `citizenId` in `epoch`.
    event PointsAwarded(
        uint256 indexed citizenId, uint32 indexed programId, uint64 indexed ref, uint32 amount, uint32 epoch
    );
    /// @notice The awards of one {awardBatch} call that were credited, all in `epoch`; one word per
    /// award, `citizenId << 96 | amount << 64 | ref` (amount uint32, ref uint64). One event per
    /// batch instead of one per award keeps a batch award under 15,000 gas.
    event PointsAwardedBatch(uint32 indexed programId, uint32 epoch, uint256[] awards);
    /// @notice An award was not credited (see {SkipReason}); nothing changed.
    event AwardSkipped(uint32 indexed programId, uint64 indexed ref, address indexed account, SkipReason reason);
    /// @notice A legacy balance of program `programId` was credited to citizen `citizenId` in `epoch`.
    event LegacyPointsImported(uint256 indexed citizenId, uint32 indexed programId, uint32 amount, uint32 epoch);
    /// @notice A legacy balance was not imported (see {SkipReason}); nothing changed.
    event LegacyImportSkipped(uint32 indexed programId, address indexed account, SkipReason reason);
    /// @notice Citizen `citizenId` spent `amount` points at merchant `merchantId` for `orderRef`, in `epoch`.
    event PointsRedeemed(
        uint256 indexed citizenId, uint32 indexed merchantId, bytes32 indexed orderRef, uint256 amount, uint32 epoch
    );
    /// @notice `amount` points credited in `epoch` to citizen `citizenId` expired and were written off.
    event PointsExpired(uint256 indexed citizenId, uint32 indexed epoch, uint256 amount);
    /// @notice The treasury settled `amount` redeemed points of merchant `merchantId` for `period`.
    event MerchantSettled(uint32 indexed merchantId, uint32 indexed period, uint256 amount, uint256 unsettledAfter);

    // ---------------------------------------------------------------- errors

    /// @notice An address argument (admin, registry, awarder) was the zero address.
    /// @custom:http 422
    error CivicMileageZeroAddress();
    /// @notice A validity outside 1..7 epochs.
    /// @custom:http 422
    error CivicMileageInvalidValidity(uint8 validityEpochs);
    /// @notice The validity is fixed once a merchant is registered: it can not change any more.
    /// @custom:http 409
    error CivicMileagePolicyLocked();
    /// @notice No program has id `programId`.
    /// @custom:http 404
    error CivicMileageUnknownProgram(uint32 programId);
    /// @notice An unsigned award by `caller`, who is not the awarder of program `programId`; or the
    /// program is closed (`caller` is then the zero address).
    /// @custom:http 403
    error CivicMileageUnauthorizedAwarder(uint32 programId, address caller);
    /// @notice An annual cap of zero.
    /// @custom:http 422
    error CivicMileageInvalidCap(uint40 annualCap);
    /// @notice An empty name.
    /// @custom:http 422
    error CivicMileageEmptyName();
    /// @notice Awarding `amount` would take program `programId` over its annual cap.
    /// @custom:http 409
    error CivicMileageCapExceeded(uint32 programId, uint40 annualCap, uint40 awardedInYear, uint256 amount);
    /// @notice A zero amount.
    /// @custom:http 422
    error CivicMileageZeroAmount();
    /// @notice `account` is not the current key of any citizen.
    /// @custom:http 422
    error CivicMileageNotCitizen(address account);
    /// @notice Citizen `citizenId` (key `account`) is suspended.
    /// @custom:http 409
    error CivicMileageCitizenNotActive(uint256 citizenId, address account);
    /// @notice The current-epoch bucket of citizen `citizenId` would exceed 2^28 - 1 points.
    /// @custom:http 409
    error CivicMileageBucketOverflow(uint256 citizenId, uint32 epoch);
    /// @notice A batch longer than `MAX_BATCH`, or empty.
    /// @custom:http 422
    error CivicMileageInvalidBatchSize(uint256 size);
    /// @notice No merchant has id `merchantId`, or it is not active.
    /// @custom:http 404
    error CivicMileageUnknownMerchant(uint32 merchantId);
    /// @notice A merchant with this business number hash is registered already (as `merchantId`).
    /// @custom:http 409
    error CivicMileageMerchantAlreadyRegistered(bytes32 businessNumberHash, uint32 merchantId);
    /// @notice `district` is not a district code 1..25.
    /// @custom:http 422
    error CivicMileageInvalidDistrict(uint8 district);
    /// @notice The business number hash is zero.
    /// @custom:http 422
    error CivicMileageEmptyBusinessNumberHash();
    /// @notice Citizen `citizenId` has `balance` unexpired points, less than `amount`.
    /// @custom:http 409
    error CivicMileageInsufficientBalance(uint256 citizenId, uint256 balance, uint256 amount);
    /// @notice The signed message's `deadline` has passed.
    /// @custom:http 422
    error CivicMileageSignatureExpired(uint256 deadline);
    /// @notice `nonce` is not the citizen's next redemption nonce `currentNonce` (used or out of order).
    /// @custom:http 409
    error CivicMileageInvalidAccountNonce(address citizen, uint256 currentNonce);
    /// @notice The signature is not `signer`'s signature of the message (the citizen for a
    /// redemption, the program's awarder for awards and imports).
    /// @custom:http 403
    error CivicMileageInvalidSignature(address signer);
    /// @notice Settling `amount` exceeds merchant `merchantId`'s `unsettled` points.
    /// @custom:http 409
    error CivicMileageSettlementExceedsUnsettled(uint32 merchantId, uint256 unsettled, uint256 amount);

    // ---------------------------------------------------------------- constants

    /// @notice Role that registers and deactivates ZeroPay merchants.
    function MERCHANT_REGISTRAR_ROLE() external view returns (bytes32);
    /// @notice Role that settles merchants' redeemed points.
    function TREASURY_ROLE() external view returns (bytes32);
    /// @notice keccak256 of
    /// `Redeem(address citizen,uint32 merchantId,uint256 amount,bytes32 orderRef,uint256 nonce,uint256 deadline)`.
    function REDEEM_TYPEHASH() external view returns (bytes32);
    /// @notice keccak256 of `Award(uint32 programId,address account,uint32 amount,uint64 ref,uint256 deadline)`.
    function AWARD_TYPEHASH() external view returns (bytes32);
    /// @notice keccak256 of `AwardBatch(uint32 programId,uint256[] awards,uint256 deadline)`.
    function AWARD_BATCH_TYPEHASH() external view returns (bytes32);
    /// @notice keccak256 of `ImportLegacy(uint32 programId,uint256[] entries,uint256 deadline)`.
    function IMPORT_LEGACY_TYPEHASH() external view returns (bytes32);
    /// @notice Most entries per {awardBatch} / {importLegacy} call (256).
    function MAX_BATCH() external view returns (uint256);
    /// @notice Length of an epoch in seconds (30 days).
    function EPOCH_LENGTH() external view returns (uint32);

    // ---------------------------------------------------------------- city (DEFAULT_ADMIN_ROLE)

    /// @notice Sets how many epochs points stay valid (1..7; default 6). Only before the first
    /// merchant is registered (no point can have been spent yet).
    function setValidityEpochs(uint8 validityEpochs) external;

    /// @notice Registers a program; ids start at 1.
    /// @param awarder the only address that may award for it (non-zero)
    /// @param annualCap points per calendar year (> 0)
    function registerProgram(string calldata name, address awarder, uint40 annualCap) external returns (uint32 programId);

    /// @notice Changes a program's awarder (0 closes it) and annual cap (> 0).
    function updateProgram(uint32 programId, address awarder, uint40 annualCap) external;

    // ---------------------------------------------------------------- programs (the awarder)

    /// @notice Credits `amount` points of `programId` to the active citizen `account` in the
    /// current epoch, once per `ref`. Signed by the program's awarder as
    /// `Award(uint32 programId,address account,uint32 amount,uint64 ref,uint256 deadline)` and
    /// relayed by anyone, or sent by the awarder with an empty `signature` (`deadline` ignored).
    /// @param ref the program's record number, unique within the program
    /// @return awarded false when `ref` was used before (nothing changes; {AwardSkipped} `Duplicate`)
    function award(uint32 programId, address account, uint32 amount, uint64 ref, uint256 deadline, bytes calldata signature)
        external
        returns (bool awarded);

    /// @notice Credits many awards in one transaction (1..MAX_BATCH). Entries that are duplicates,
    /// zero or not for an active citizen are skipped with {AwardSkipped}; the cap applies to the
    /// sum credited (over it, the whole batch reverts). The credited awards are logged in one
    /// {PointsAwardedBatch} event. Signed by the awarder as
    /// `AwardBatch(uint32 programId,uint256[] awards,uint256 deadline)`, or sent by the awarder
    /// with an empty signature.
    /// @param awards one word per award, packed to keep calldata and decoding cheap:
    /// `uint256(uint160(account)) << 96 | uint256(amount) << 64 | ref` (account: the citizen's
    /// current address; amount: uint32 points; ref: the program's uint64 record number)
    /// @return awardedCount number of entries credited
    function awardBatch(uint32 programId, uint256[] calldata awards, uint256 deadline, bytes calldata signature)
        external
        returns (uint256 awardedCount);

    /// @notice Imports balances from the program's legacy system into the current epoch, once per
    /// (program, citizen): a second import of the same citizen is skipped with
    /// {LegacyImportSkipped} `AlreadyImported`. Not counted against the annual cap. Signed by the
    /// awarder as `ImportLegacy(uint32 programId,uint256[] entries,uint256 deadline)`, or sent by
    /// the awarder with an empty signature.
    /// @param entries one word per citizen: `uint256(uint160(account)) << 96 | uint256(amount) << 64`
    /// @return importedCount number of entries credited
    function importLegacy(uint32 programId, uint256[] calldata entries, uint256 deadline, bytes calldata signature)
        external
        returns (uint256 importedCount);

    // ---------------------------------------------------------------- merchants

    /// @notice Registers a ZeroPay merchant; ids start at 1. MERCHANT_REGISTRAR_ROLE.
    function registerMerchant(string calldata name, bytes32 businessNumberHash, uint8 district)
        external
        returns (uint32 merchantId);

    /// @notice Stops a merchant from accepting redemptions (it can still be settled). MERCHANT_REGISTRAR_ROLE.
    function deactivateMerchant(uint32 merchantId) external;

    /// @notice Settles `amount` of a merchant's unsettled points for `period` (a label such as
    /// 202611). TREASURY_ROLE.
    function settleMerchant(uint32 merchantId, uint32 period, uint256 amount) external;

    // ---------------------------------------------------------------- citizens

    /// @notice Spends `amount` unexpired points of `citizen` (oldest epoch first) at merchant
    /// `merchantId` for `orderRef`. Signed by `citizen` as
    /// `Redeem(address citizen,uint32 merchantId,uint256 amount,bytes32 orderRef,uint256 nonce,uint256 deadline)`;
    /// relayed by anyone. Expired buckets met on the way are written off ({PointsExpired}).
    /// @param nonce `nonces(citizen)`: the citizen's redemption counter, kept per citizen id (it
    /// survives a key rotation)
    /// @param deadline last valid block timestamp
    /// @param signature the citizen's signature (65-byte ECDSA or ERC-1271)
    function redeem(
        address citizen,
        uint32 merchantId,
        uint256 amount,
        bytes32 orderRef,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external;

    // ---------------------------------------------------------------- views

    /// @notice Unexpired points of the citizen whose current key is `account` (0 if none).
    function balanceOf(address account) external view returns (uint256);

    /// @notice A citizen's unexpired points and the expired points not yet written off.
    function pointsOf(uint256 citizenId) external view returns (uint256 balance, uint256 expiredUnrealised);

    /// @notice The next redemption nonce of the citizen whose current key is `account`.
    function nonces(address account) external view returns (uint256);

    /// @notice A citizen's raw ring: `amounts[i]` was credited in epoch `headEpoch - i`.
    function bucketsOf(uint256 citizenId) external view returns (uint32 headEpoch, uint32[7] memory amounts);

    /// @notice The epoch of the current block.
    function currentEpoch() external view returns (uint32);

    /// @notice The epoch policy.
    function epochPolicy() external view returns (uint64 epochOrigin, uint32 epochLength, uint8 validityEpochs);

    /// @notice Program `programId` (awarder 0 and empty name if unknown).
    function programOf(uint32 programId) external view returns (Program memory);

    /// @notice Number of programs registered (= the highest id).
    function programCount() external view returns (uint32);

    /// @notice Merchant `merchantId` (all zero if unknown).
    function merchantOf(uint32 merchantId) external view returns (Merchant memory);

    /// @notice Number of merchants registered (= the highest id).
    function merchantCount() external view returns (uint32);

    /// @notice The merchant registered with `businessNumberHash`, 0 if none.
    function merchantIdOf(bytes32 businessNumberHash) external view returns (uint32);

    /// @notice Whether `(programId, ref)` was awarded.
    function isAwarded(uint32 programId, uint64 ref) external view returns (bool);

    /// @notice Whether citizen `citizenId`'s legacy balance of `programId` was imported.
    function isLegacyImported(uint32 programId, uint256 citizenId) external view returns (bool);

    /// @notice The calendar year (KST) of timestamp `timestamp`, as the annual caps count it.
    function yearOf(uint256 timestamp) external pure returns (uint16);

    /// @notice The EIP-712 domain separator.
    function DOMAIN_SEPARATOR() external view returns (bytes32);
}

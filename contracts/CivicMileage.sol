// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";

import {ICitizenRegistry} from "./interfaces/ICitizenRegistry.sol";
import {ICivicMileage} from "./interfaces/ICivicMileage.sol";

/// @title ZeroPay-linked mileage (제로페이 연계 마일리지 통합)
/// @notice See {ICivicMileage}. Programs award, citizens sign redemptions, anyone relays.
/// @dev Gas layout: everything about a citizen's points is one slot, the "ring":
/// bits 216..255 the citizen's redemption nonce (uint40), bits 196..215 the head epoch (uint20),
/// bits 0..195 seven uint28 buckets, bucket `i` holding the points credited in epoch `head - i`.
/// So a redemption writes one citizen slot (nonce and buckets together). A program is one slot
/// (awarder, cap, yearly counter, year); award references and legacy imports are bitmaps; the
/// validity is copied into every merchant's slot (it is locked by then); the epoch length is a
/// constant.
contract CivicMileage is ICivicMileage, AccessControl, EIP712 {
    using BitMaps for BitMaps.BitMap;

    /// @inheritdoc ICivicMileage
    bytes32 public constant MERCHANT_REGISTRAR_ROLE = keccak256("MERCHANT_REGISTRAR_ROLE");
    /// @inheritdoc ICivicMileage
    bytes32 public constant TREASURY_ROLE = keccak256("TREASURY_ROLE");
    /// @inheritdoc ICivicMileage
    bytes32 public constant REDEEM_TYPEHASH = keccak256(
        "Redeem(address citizen,uint32 merchantId,uint256 amount,bytes32 orderRef,uint256 nonce,uint256 deadline)"
    );
    /// @inheritdoc ICivicMileage
    bytes32 public constant AWARD_TYPEHASH =
        keccak256("Award(uint32 programId,address account,uint32 amount,uint64 ref,uint256 deadline)");
    /// @inheritdoc ICivicMileage
    bytes32 public constant AWARD_BATCH_TYPEHASH =
        keccak256("AwardBatch(uint32 programId,uint256[] awards,uint256 deadline)");
    /// @inheritdoc ICivicMileage
    bytes32 public constant IMPORT_LEGACY_TYPEHASH =
        keccak256("ImportLegacy(uint32 programId,uint256[] entries,uint256 deadline)");
    /// @inheritdoc ICivicMileage
    uint256 public constant MAX_BATCH = 256;
    /// @inheritdoc ICivicMileage
    uint32 public constant EPOCH_LENGTH = 30 days;

    uint256 private constant _BUCKETS = 7;
    uint256 private constant _AMOUNT_REF_MASK = (uint256(1) << 96) - 1;
    uint256 private constant _BUCKET_BITS = 28;
    uint256 private constant _MAX_BUCKET = (uint256(1) << 28) - 1;
    uint256 private constant _BUCKETS_MASK = (uint256(1) << 196) - 1;
    uint256 private constant _HEAD_SHIFT = 196;
    uint256 private constant _HEAD_MASK = (uint256(1) << 20) - 1;
    uint256 private constant _NONCE_SHIFT = 216;
    uint8 private constant _DISTRICT_COUNT = 25;
    /// @dev Korea Standard Time, for the calendar year of annual caps.
    uint256 private constant _KST_OFFSET = 9 hours;

    struct ProgramSlot {
        address awarder;
        uint40 annualCap;
        uint40 awardedInYear;
        uint16 year;
    }

    /// @dev `validityEpochs` copies the policy (locked when the first merchant is registered), so
    /// that a redemption reads one slot for merchant and policy together.
    struct MerchantSlot {
        bool active;
        uint8 district;
        uint8 validityEpochs;
        uint96 unsettled;
        uint96 redeemed;
    }

    ICitizenRegistry private immutable _registry;
    uint64 private immutable _epochOrigin;

    uint8 private _validityEpochs;
    bool private _policyLocked;
    uint32 private _programCount;
    uint32 private _merchantCount;

    mapping(uint32 programId => ProgramSlot) private _programs;
    mapping(uint32 programId => string name) private _programNames;
    mapping(uint32 merchantId => MerchantSlot) private _merchants;
    mapping(uint32 merchantId => bytes32 businessNumberHash) private _merchantBusiness;
    mapping(uint32 merchantId => string name) private _merchantNames;
    mapping(bytes32 businessNumberHash => uint32 merchantId) private _merchantByBusiness;
    mapping(uint256 citizenId => uint256 ring) private _rings;
    /// @dev key `programId << 64 | ref`
    BitMaps.BitMap private _awardedRefs;
    /// @dev key `programId << 192 | citizenId`
    BitMaps.BitMap private _legacyImported;

    constructor(address admin, ICitizenRegistry registry) EIP712("CivicMileage", "1") {
        if (admin == address(0) || address(registry) == address(0)) revert CivicMileageZeroAddress();
        _registry = registry;
        _epochOrigin = uint64(block.timestamp);
        _validityEpochs = 6;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MERCHANT_REGISTRAR_ROLE, admin);
        _grantRole(TREASURY_ROLE, admin);
    }

    // ---------------------------------------------------------------- city

    /// @inheritdoc ICivicMileage
    function setValidityEpochs(uint8 validityEpochs) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (_policyLocked) revert CivicMileagePolicyLocked();
        if (validityEpochs == 0 || validityEpochs > _BUCKETS) revert CivicMileageInvalidValidity(validityEpochs);
        _validityEpochs = validityEpochs;
        emit ValidityEpochsSet(validityEpochs);
    }

    /// @inheritdoc ICivicMileage
    function registerProgram(string calldata name, address awarder, uint40 annualCap)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        returns (uint32 programId)
    {
        if (bytes(name).length == 0) revert CivicMileageEmptyName();
        if (awarder == address(0)) revert CivicMileageZeroAddress();
        if (annualCap == 0) revert CivicMileageInvalidCap(annualCap);
        programId = ++_programCount;
        _programs[programId] =
            ProgramSlot({awarder: awarder, annualCap: annualCap, awardedInYear: 0, year: _yearOf(block.timestamp)});
        _programNames[programId] = name;
        emit ProgramRegistered(programId, awarder, annualCap, name);
    }

    /// @inheritdoc ICivicMileage
    function updateProgram(uint32 programId, address awarder, uint40 annualCap) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (programId == 0 || programId > _programCount) revert CivicMileageUnknownProgram(programId);
        if (annualCap == 0) revert CivicMileageInvalidCap(annualCap);
        ProgramSlot storage p = _programs[programId];
        p.awarder = awarder;
        p.annualCap = annualCap;
        emit ProgramUpdated(programId, awarder, annualCap);
    }

    // ---------------------------------------------------------------- programs

    /// @inheritdoc ICivicMileage
    function award(
        uint32 programId,
        address account,
        uint32 amount,
        uint64 ref,
        uint256 deadline,
        bytes calldata signature
    ) external returns (bool awarded) {
        ProgramSlot memory p = _loadProgram(programId, signature.length != 0);
        if (signature.length != 0) {
            _checkAwarder(
                p.awarder,
                deadline,
                keccak256(abi.encode(AWARD_TYPEHASH, programId, account, amount, ref, deadline)),
                signature
            );
        }
        if (amount == 0) revert CivicMileageZeroAmount();
        uint256 key = (uint256(programId) << 64) | ref;
        if (_awardedRefs.get(key)) {
            emit AwardSkipped(programId, ref, account, SkipReason.Duplicate);
            return false;
        }
        // district and birthYear are not needed here; citizenId and active are checked.
        // slither-disable-next-line unused-return
        (uint256 citizenId, bool active,,) = _registry.eligibilityOf(account);
        if (citizenId == 0) revert CivicMileageNotCitizen(account);
        if (!active) revert CivicMileageCitizenNotActive(citizenId, account);
        _count(programId, p, amount);
        _awardedRefs.set(key);
        uint32 epoch = _creditEpoch();
        _credit(citizenId, amount, epoch);
        emit PointsAwarded(citizenId, programId, ref, amount, epoch);
        return true;
    }

    /// @inheritdoc ICivicMileage
    function awardBatch(uint32 programId, uint256[] calldata awards, uint256 deadline, bytes calldata signature)
        external
        returns (uint256 awardedCount)
    {
        ProgramSlot memory p = _loadProgram(programId, signature.length != 0);
        uint256 n = awards.length;
        if (n == 0 || n > MAX_BATCH) revert CivicMileageInvalidBatchSize(n);
        if (signature.length != 0) {
            _checkAwarder(
                p.awarder,
                deadline,
                keccak256(abi.encode(AWARD_BATCH_TYPEHASH, programId, _hashWords(awards), deadline)),
                signature
            );
        }
        uint32 epoch = _creditEpoch();
        uint256 total;
        uint256[] memory credited = new uint256[](n);
        for (uint256 i; i < n;) {
            uint256 entry = _awardPacked(programId, awards[i], epoch);
            unchecked {
                ++i;
                if (entry != 0) {
                    credited[awardedCount++] = entry;
                    total += uint32(entry >> 64);
                }
            }
        }
        if (total != 0) {
            _count(programId, p, total);
            assembly ("memory-safe") {
                mstore(credited, awardedCount)
            }
            emit PointsAwardedBatch(programId, epoch, credited);
        }
    }

    /// @inheritdoc ICivicMileage
    function importLegacy(uint32 programId, uint256[] calldata entries, uint256 deadline, bytes calldata signature)
        external
        returns (uint256 importedCount)
    {
        ProgramSlot memory p = _loadProgram(programId, signature.length != 0);
        uint256 n = entries.length;
        if (n == 0 || n > MAX_BATCH) revert CivicMileageInvalidBatchSize(n);
        if (signature.length != 0) {
            _checkAwarder(
                p.awarder,
                deadline,
                keccak256(abi.encode(IMPORT_LEGACY_TYPEHASH, programId, _hashWords(entries), deadline)),
                signature
            );
        }
        uint32 epoch = _creditEpoch();
        for (uint256 i; i < n; ++i) {
            if (_importPacked(programId, entries[i], epoch)) ++importedCount;
        }
    }

    // ---------------------------------------------------------------- merchants

    /// @inheritdoc ICivicMileage
    function registerMerchant(string calldata name, bytes32 businessNumberHash, uint8 district)
        external
        onlyRole(MERCHANT_REGISTRAR_ROLE)
        returns (uint32 merchantId)
    {
        if (bytes(name).length == 0) revert CivicMileageEmptyName();
        if (businessNumberHash == bytes32(0)) revert CivicMileageEmptyBusinessNumberHash();
        if (district == 0 || district > _DISTRICT_COUNT) revert CivicMileageInvalidDistrict(district);
        uint32 existing = _merchantByBusiness[businessNumberHash];
        if (existing != 0) revert CivicMileageMerchantAlreadyRegistered(businessNumberHash, existing);
        uint8 validity = _validityEpochs;
        if (!_policyLocked) _policyLocked = true;
        merchantId = ++_merchantCount;
        _merchants[merchantId] = MerchantSlot({
            active: true,
            district: district,
            validityEpochs: validity,
            unsettled: 0,
            redeemed: 0
        });
        _merchantBusiness[merchantId] = businessNumberHash;
        _merchantNames[merchantId] = name;
        _merchantByBusiness[businessNumberHash] = merchantId;
        emit MerchantRegistered(merchantId, businessNumberHash, district, name);
    }

    /// @inheritdoc ICivicMileage
    function deactivateMerchant(uint32 merchantId) external onlyRole(MERCHANT_REGISTRAR_ROLE) {
        MerchantSlot storage m = _merchants[merchantId];
        if (!m.active) revert CivicMileageUnknownMerchant(merchantId);
        m.active = false;
        emit MerchantDeactivated(merchantId);
    }

    /// @inheritdoc ICivicMileage
    function settleMerchant(uint32 merchantId, uint32 period, uint256 amount) external onlyRole(TREASURY_ROLE) {
        if (merchantId == 0 || merchantId > _merchantCount) revert CivicMileageUnknownMerchant(merchantId);
        if (amount == 0) revert CivicMileageZeroAmount();
        MerchantSlot storage m = _merchants[merchantId];
        uint256 unsettled = m.unsettled;
        if (amount > unsettled) revert CivicMileageSettlementExceedsUnsettled(merchantId, unsettled, amount);
        m.unsettled = uint96(unsettled - amount);
        emit MerchantSettled(merchantId, period, amount, unsettled - amount);
    }

    // ---------------------------------------------------------------- citizens

    /// @inheritdoc ICivicMileage
    function redeem(
        address citizen,
        uint32 merchantId,
        uint256 amount,
        bytes32 orderRef,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert CivicMileageSignatureExpired(deadline);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(REDEEM_TYPEHASH, citizen, merchantId, amount, orderRef, nonce, deadline))
        );
        if (!_isValidSignature(citizen, digest, signature)) {
            revert CivicMileageInvalidSignature(citizen);
        }
        _redeem(citizen, merchantId, amount, orderRef, nonce);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ICivicMileage
    function balanceOf(address account) external view returns (uint256 balance) {
        uint256 citizenId = _registry.citizenIdOf(account);
        if (citizenId != 0) (balance,) = _pointsOf(citizenId);
    }

    /// @inheritdoc ICivicMileage
    function pointsOf(uint256 citizenId) external view returns (uint256 balance, uint256 expiredUnrealised) {
        return _pointsOf(citizenId);
    }

    /// @inheritdoc ICivicMileage
    function bucketsOf(uint256 citizenId) external view returns (uint32 headEpoch, uint32[7] memory amounts) {
        uint256 word = _rings[citizenId];
        headEpoch = uint32((word >> _HEAD_SHIFT) & _HEAD_MASK);
        for (uint256 i; i < _BUCKETS; ++i) {
            amounts[i] = uint32((word >> (_BUCKET_BITS * i)) & _MAX_BUCKET);
        }
    }

    /// @inheritdoc ICivicMileage
    function nonces(address account) external view returns (uint256) {
        return _rings[_registry.citizenIdOf(account)] >> _NONCE_SHIFT;
    }

    /// @inheritdoc ICivicMileage
    function currentEpoch() public view returns (uint32) {
        return uint32((block.timestamp - _epochOrigin) / EPOCH_LENGTH);
    }

    /// @inheritdoc ICivicMileage
    function epochPolicy() external view returns (uint64 epochOrigin, uint32 epochLength, uint8 validityEpochs) {
        return (_epochOrigin, EPOCH_LENGTH, _validityEpochs);
    }

    /// @inheritdoc ICivicMileage
    function programOf(uint32 programId) external view returns (Program memory) {
        ProgramSlot memory p = _programs[programId];
        // Calendar years compared, not timestamps: the counter restarts in a new year, by design.
        // slither-disable-next-line incorrect-equality
        return Program({
            awarder: p.awarder,
            annualCap: p.annualCap,
            awardedInYear: p.year == _yearOf(block.timestamp) ? p.awardedInYear : 0,
            year: _yearOf(block.timestamp),
            name: _programNames[programId]
        });
    }

    /// @inheritdoc ICivicMileage
    function programCount() external view returns (uint32) {
        return _programCount;
    }

    /// @inheritdoc ICivicMileage
    function merchantOf(uint32 merchantId) external view returns (Merchant memory) {
        MerchantSlot memory m = _merchants[merchantId];
        return Merchant({
            active: m.active,
            district: m.district,
            unsettled: m.unsettled,
            redeemed: m.redeemed,
            businessNumberHash: _merchantBusiness[merchantId],
            name: _merchantNames[merchantId]
        });
    }

    /// @inheritdoc ICivicMileage
    function merchantCount() external view returns (uint32) {
        return _merchantCount;
    }

    /// @inheritdoc ICivicMileage
    function merchantIdOf(bytes32 businessNumberHash) external view returns (uint32) {
        return _merchantByBusiness[businessNumberHash];
    }

    /// @inheritdoc ICivicMileage
    function isAwarded(uint32 programId, uint64 ref) external view returns (bool) {
        return _awardedRefs.get((uint256(programId) << 64) | ref);
    }

    /// @inheritdoc ICivicMileage
    function isLegacyImported(uint32 programId, uint256 citizenId) external view returns (bool) {
        return _legacyImported.get((uint256(programId) << 192) | citizenId);
    }

    /// @inheritdoc ICivicMileage
    function yearOf(uint256 timestamp) external pure returns (uint16) {
        return _yearOf(timestamp);
    }

    /// @inheritdoc ICivicMileage
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- internals

    /// @dev The program, checked to exist and be open. Unless the action is `signed` (by the
    /// awarder, checked by the caller), the caller must be the awarder.
    function _loadProgram(uint32 programId, bool signed) private view returns (ProgramSlot memory p) {
        p = _programs[programId];
        if (p.awarder == address(0)) {
            if (programId == 0 || programId > _programCount) revert CivicMileageUnknownProgram(programId);
            revert CivicMileageUnauthorizedAwarder(programId, address(0));
        }
        if (!signed && p.awarder != msg.sender) revert CivicMileageUnauthorizedAwarder(programId, msg.sender);
    }

    /// @dev Checks the awarder's EIP-712 signature of `structHash` and the deadline.
    function _checkAwarder(address awarder, uint256 deadline, bytes32 structHash, bytes calldata signature)
        private
        view
    {
        if (block.timestamp > deadline) revert CivicMileageSignatureExpired(deadline);
        if (!_isValidSignature(awarder, _hashTypedDataV4(structHash), signature)) {
            revert CivicMileageInvalidSignature(awarder);
        }
    }

    /// @dev EIP-712 encoding of a `uint256[]`: keccak256 of the concatenated words.
    function _hashWords(uint256[] calldata words) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let size := mul(words.length, 32)
            calldatacopy(ptr, words.offset, size)
            h := keccak256(ptr, size)
        }
    }

    /// @dev Adds `amount` to the program's yearly counter, reverting over the cap.
    function _count(uint32 programId, ProgramSlot memory p, uint256 amount) private {
        uint16 year = _yearOf(block.timestamp);
        // Calendar years compared, not timestamps: the counter restarts in a new year, by design.
        // slither-disable-next-line incorrect-equality
        uint256 inYear = p.year == year ? p.awardedInYear : 0;
        if (inYear + amount > p.annualCap) {
            revert CivicMileageCapExceeded(programId, p.annualCap, uint40(inYear), amount);
        }
        _programs[programId] =
            ProgramSlot({awarder: p.awarder, annualCap: p.annualCap, awardedInYear: uint40(inYear + amount), year: year});
    }

    /// @dev One entry of {awardBatch}: credits it, or emits why not and returns 0; returns the
    /// entry as logged, `citizenId << 96 | amount << 64 | ref`.
    function _awardPacked(uint32 programId, uint256 packed, uint32 epoch) private returns (uint256) {
        address account = address(uint160(packed >> 96));
        uint32 amount = uint32(packed >> 64);
        uint64 ref = uint64(packed);
        uint256 key = (uint256(programId) << 64) | ref;
        SkipReason reason = SkipReason.None;
        // 0 until the registry answers; only read when reason == None, i.e. after it did.
        // slither-disable-next-line uninitialized-local
        uint256 citizenId;
        if (amount == 0) {
            reason = SkipReason.ZeroAmount;
        } else if (_awardedRefs.get(key)) {
            reason = SkipReason.Duplicate;
        } else {
            bool active;
            // district and birthYear are not needed here; citizenId and active are checked.
            // slither-disable-next-line unused-return
            (citizenId, active,,) = _registry.eligibilityOf(account);
            if (!active) reason = SkipReason.NotActiveCitizen;
        }
        if (reason != SkipReason.None) {
            emit AwardSkipped(programId, ref, account, reason);
            return 0;
        }
        _awardedRefs.set(key);
        _credit(citizenId, amount, epoch);
        return (citizenId << 96) | (packed & _AMOUNT_REF_MASK);
    }

    /// @dev One entry of {importLegacy}: credits it (true), or emits why not (false).
    function _importPacked(uint32 programId, uint256 packed, uint32 epoch) private returns (bool) {
        address account = address(uint160(packed >> 96));
        uint32 amount = uint32(packed >> 64);
        SkipReason reason = SkipReason.None;
        // 0 until the registry answers; only read when reason == None, i.e. after it did.
        // slither-disable-next-line uninitialized-local
        uint256 citizenId;
        if (amount == 0) {
            reason = SkipReason.ZeroAmount;
        } else {
            bool active;
            // district and birthYear are not needed here; citizenId and active are checked.
            // slither-disable-next-line unused-return
            (citizenId, active,,) = _registry.eligibilityOf(account);
            if (!active) reason = SkipReason.NotActiveCitizen;
            else if (_legacyImported.get((uint256(programId) << 192) | citizenId)) reason = SkipReason.AlreadyImported;
        }
        if (reason != SkipReason.None) {
            emit LegacyImportSkipped(programId, account, reason);
            return false;
        }
        _legacyImported.set((uint256(programId) << 192) | citizenId);
        _credit(citizenId, amount, epoch);
        emit LegacyPointsImported(citizenId, programId, amount, epoch);
        return true;
    }

    /// @dev The current epoch (for a credit).
    function _creditEpoch() private view returns (uint32) {
        return uint32((block.timestamp - _epochOrigin) / EPOCH_LENGTH);
    }

    /// @dev ECDSA first (no code-size lookup of the signer on the common path), then ERC-1271.
    function _isValidSignature(address signer, bytes32 digest, bytes calldata signature) private view returns (bool) {
        // The third value (errorArg) only details an error, and err is checked.
        // slither-disable-next-line unused-return
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == signer) return true;
        return SignatureChecker.isValidERC1271SignatureNow(signer, digest, signature);
    }

    /// @dev Adds `amount` to the citizen's bucket of `epoch` (the current epoch, never older than
    /// the head). Moving the head shifts the ring; buckets shifted out are at least seven epochs
    /// old, hence expired, and are written off here.
    function _credit(uint256 citizenId, uint256 amount, uint32 epoch) private {
        uint256 word = _rings[citizenId];
        uint256 head = (word >> _HEAD_SHIFT) & _HEAD_MASK;
        uint256 buckets = word & _BUCKETS_MASK;
        if (head != epoch && buckets != 0) {
            uint256 shift = epoch - head;
            uint256 dropped;
            // 0 when the whole ring is dropped (shift >= _BUCKETS), set otherwise.
            // slither-disable-next-line uninitialized-local
            uint256 firstDropped;
            if (shift >= _BUCKETS) {
                dropped = buckets;
                buckets = 0;
            } else {
                firstDropped = _BUCKETS - shift;
                dropped = buckets >> (_BUCKET_BITS * firstDropped);
                buckets = (buckets << (_BUCKET_BITS * shift)) & _BUCKETS_MASK;
            }
            for (uint256 j; dropped != 0; ++j) {
                uint256 amt = dropped & _MAX_BUCKET;
                if (amt != 0) emit PointsExpired(citizenId, uint32(head - firstDropped - j), amt);
                dropped >>= _BUCKET_BITS;
            }
        }
        if ((buckets & _MAX_BUCKET) + amount > _MAX_BUCKET) revert CivicMileageBucketOverflow(citizenId, epoch);
        _rings[citizenId] = ((word >> _NONCE_SHIFT) << _NONCE_SHIFT) | (uint256(epoch) << _HEAD_SHIFT) | (buckets + amount);
    }

    function _redeem(address citizen, uint32 merchantId, uint256 amount, bytes32 orderRef, uint256 nonce) private {
        if (amount == 0) revert CivicMileageZeroAmount();
        MerchantSlot memory m = _merchants[merchantId];
        if (!m.active) revert CivicMileageUnknownMerchant(merchantId);
        // district and birthYear are not needed here; citizenId and active are checked.
        // slither-disable-next-line unused-return
        (uint256 citizenId, bool active,,) = _registry.eligibilityOf(citizen);
        if (citizenId == 0) revert CivicMileageNotCitizen(citizen);
        if (!active) revert CivicMileageCitizenNotActive(citizenId, citizen);

        uint256 epoch = (block.timestamp - _epochOrigin) / EPOCH_LENGTH;
        uint256 word = _rings[citizenId];
        uint256 current = word >> _NONCE_SHIFT;
        if (nonce != current) revert CivicMileageInvalidAccountNonce(citizen, current);
        uint256 head = (word >> _HEAD_SHIFT) & _HEAD_MASK;
        uint256 remaining = amount;
        // Oldest bucket first: write off the expired ones, spend from the others.
        for (uint256 i = _BUCKETS; i != 0 && remaining != 0;) {
            unchecked {
                --i;
            }
            uint256 shift = _BUCKET_BITS * i;
            uint256 amt = (word >> shift) & _MAX_BUCKET;
            // An empty bucket (a packed amount, not a balance or a time): skipping it is exact.
            // slither-disable-next-line incorrect-equality
            if (amt == 0) continue;
            uint256 bucketEpoch = head - i;
            if (bucketEpoch + m.validityEpochs <= epoch) {
                word &= ~(_MAX_BUCKET << shift);
                emit PointsExpired(citizenId, uint32(bucketEpoch), amt);
                continue;
            }
            uint256 take = amt < remaining ? amt : remaining;
            word -= take << shift;
            remaining -= take;
        }
        if (remaining != 0) revert CivicMileageInsufficientBalance(citizenId, amount - remaining, amount);
        _rings[citizenId] = word + (uint256(1) << _NONCE_SHIFT);
        unchecked {
            // amount <= 7 * 2^28 per redemption: the 96-bit counters do not overflow in practice.
            m.unsettled += uint96(amount);
            m.redeemed += uint96(amount);
        }
        _merchants[merchantId] = m;
        emit PointsRedeemed(citizenId, merchantId, orderRef, amount, uint32(epoch));
    }

    function _pointsOf(uint256 citizenId) private view returns (uint256 balance, uint256 expiredUnrealised) {
        uint256 word = _rings[citizenId];
        uint256 head = (word >> _HEAD_SHIFT) & _HEAD_MASK;
        uint256 validity = _validityEpochs;
        uint256 epoch = (block.timestamp - _epochOrigin) / EPOCH_LENGTH;
        for (uint256 i; i < _BUCKETS; ++i) {
            uint256 amt = (word >> (_BUCKET_BITS * i)) & _MAX_BUCKET;
            // An empty bucket (a packed amount, not a balance or a time): skipping it is exact.
            // slither-disable-next-line incorrect-equality
            if (amt == 0) continue;
            if (head - i + validity <= epoch) expiredUnrealised += amt;
            else balance += amt;
        }
    }

    /// @dev Calendar year (KST) of a Unix timestamp (days-to-civil, H. Hinnant).
    function _yearOf(uint256 timestamp) private pure returns (uint16) {
        // Integer (floor) division is the algorithm: each quotient is a whole era, year or month.
        // slither-disable-start divide-before-multiply
        unchecked {
            uint256 z = (timestamp + _KST_OFFSET) / 1 days + 719468;
            uint256 era = z / 146097;
            uint256 doe = z - era * 146097;
            uint256 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
            uint256 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            uint256 mp = (5 * doy + 2) / 153;
            uint256 y = yoe + era * 400;
            if (mp >= 10) y += 1;
            return uint16(y);
        }
        // slither-disable-end divide-before-multiply
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

import {ICitizenRegistry} from "./interfaces/ICitizenRegistry.sol";

/// @title Citizen Card identity (서울시민카드 통합인증)
/// @notice See {ICitizenRegistry}. Registrars sign, anyone relays; citizens rotate their own key
/// with both keys' signatures.
contract CitizenRegistry is ICitizenRegistry, AccessControl, EIP712, Nonces {
    /// @inheritdoc ICitizenRegistry
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    /// @inheritdoc ICitizenRegistry
    bytes32 public constant REGISTER_CITIZEN_TYPEHASH = keccak256(
        "RegisterCitizen(address account,uint8 district,uint16 birthYear,uint8 residency,bytes32 recordHash,address registrar,uint256 nonce,uint256 deadline)"
    );
    /// @inheritdoc ICitizenRegistry
    bytes32 public constant UPDATE_CITIZEN_TYPEHASH = keccak256(
        "UpdateCitizen(uint256 citizenId,uint8 district,uint16 birthYear,uint8 residency,bytes32 recordHash,address registrar,uint256 nonce,uint256 deadline)"
    );
    /// @inheritdoc ICitizenRegistry
    bytes32 public constant SUSPEND_CITIZEN_TYPEHASH =
        keccak256("SuspendCitizen(uint256 citizenId,uint8 reason,address registrar,uint256 nonce,uint256 deadline)");
    /// @inheritdoc ICitizenRegistry
    bytes32 public constant REINSTATE_CITIZEN_TYPEHASH =
        keccak256("ReinstateCitizen(uint256 citizenId,address registrar,uint256 nonce,uint256 deadline)");
    /// @inheritdoc ICitizenRegistry
    bytes32 public constant RECOVER_KEY_TYPEHASH =
        keccak256("RecoverKey(uint256 citizenId,address newAccount,address registrar,uint256 nonce,uint256 deadline)");
    /// @inheritdoc ICitizenRegistry
    bytes32 public constant ROTATE_KEY_TYPEHASH =
        keccak256("RotateKey(address oldAccount,address newAccount,uint256 nonce,uint256 deadline)");

    uint8 private constant _DISTRICT_COUNT = 25;
    uint16 private constant _MIN_BIRTH_YEAR = 1900;
    /// @dev Marks a binding whose address was rotated away; the low bits keep the former id.
    uint256 private constant _RETIRED = 1 << 255;

    /// @dev One slot of packed attributes (31 bytes) + the record hash: registration writes 2 slots.
    struct Record {
        address account;
        Status status;
        uint8 district;
        uint16 birthYear;
        Residency residency;
        SuspensionReason suspensionReason;
        uint40 registeredAt;
        bytes32 recordHash;
    }

    mapping(uint256 citizenId => Record) private _citizens;
    /// @dev Written on the first change only, so registration stays at 2 slots; 0 means "= registeredAt".
    mapping(uint256 citizenId => uint40 updatedAt) private _updatedAt;
    /// @dev citizenId for the current key, `_RETIRED | citizenId` for a rotated-away key, 0 if never bound.
    mapping(address account => uint256 binding) private _bindingOf;
    /// @dev Id the next registration gets; starts at 1 (set in the constructor, so the first
    /// registration does not pay for a zero-to-non-zero write). `citizenCount() == _nextCitizenId - 1`.
    uint256 private _nextCitizenId;

    constructor(address admin) EIP712("CitizenRegistry", "1") {
        if (admin == address(0)) revert CitizenRegistryZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _nextCitizenId = 1;
    }

    // ---------------------------------------------------------------- registrar actions

    /// @inheritdoc ICitizenRegistry
    function registerCitizen(
        address account,
        uint8 district,
        uint16 birthYear,
        uint8 residency,
        bytes32 recordHash,
        address registrar,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 citizenId) {
        bytes32 structHash = keccak256(
            abi.encode(
                REGISTER_CITIZEN_TYPEHASH, account, district, birthYear, residency, recordHash, registrar, nonce, deadline
            )
        );
        _checkRegistrarSignature(registrar, nonce, deadline, structHash, signature);
        if (account == registrar) revert CitizenRegistryRegistrarAccountForbidden(account);
        return _register(account, district, birthYear, residency, recordHash, registrar);
    }

    /// @inheritdoc ICitizenRegistry
    function updateCitizen(
        uint256 citizenId,
        uint8 district,
        uint16 birthYear,
        uint8 residency,
        bytes32 recordHash,
        address registrar,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash = keccak256(
            abi.encode(
                UPDATE_CITIZEN_TYPEHASH, citizenId, district, birthYear, residency, recordHash, registrar, nonce, deadline
            )
        );
        _checkRegistrarSignature(registrar, nonce, deadline, structHash, signature);
        _update(citizenId, district, birthYear, residency, recordHash, registrar);
    }

    /// @inheritdoc ICitizenRegistry
    function suspendCitizen(
        uint256 citizenId,
        uint8 reason,
        address registrar,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash =
            keccak256(abi.encode(SUSPEND_CITIZEN_TYPEHASH, citizenId, reason, registrar, nonce, deadline));
        _checkRegistrarSignature(registrar, nonce, deadline, structHash, signature);
        _suspend(citizenId, reason, registrar);
    }

    /// @inheritdoc ICitizenRegistry
    function reinstateCitizen(
        uint256 citizenId,
        address registrar,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash = keccak256(abi.encode(REINSTATE_CITIZEN_TYPEHASH, citizenId, registrar, nonce, deadline));
        _checkRegistrarSignature(registrar, nonce, deadline, structHash, signature);
        _reinstate(citizenId, registrar);
    }

    /// @inheritdoc ICitizenRegistry
    function recoverKey(
        uint256 citizenId,
        address newAccount,
        address registrar,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash =
            keccak256(abi.encode(RECOVER_KEY_TYPEHASH, citizenId, newAccount, registrar, nonce, deadline));
        _checkRegistrarSignature(registrar, nonce, deadline, structHash, signature);
        if (newAccount == registrar) revert CitizenRegistryRegistrarAccountForbidden(newAccount);
        _rotate(citizenId, newAccount, registrar);
    }

    // ---------------------------------------------------------------- citizen action

    /// @inheritdoc ICitizenRegistry
    function rotateKey(
        address oldAccount,
        address newAccount,
        uint256 nonce,
        uint256 deadline,
        bytes calldata oldSignature,
        bytes calldata newSignature
    ) external {
        if (block.timestamp > deadline) revert CitizenRegistrySignatureExpired(deadline);
        uint256 citizenId = _currentIdOf(oldAccount);
        if (citizenId == 0) revert CitizenRegistryNotRegistered(oldAccount);
        if (_citizens[citizenId].status != Status.Active) revert CitizenRegistryNotActive(citizenId);
        _useCheckedNonce(oldAccount, nonce);
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(ROTATE_KEY_TYPEHASH, oldAccount, newAccount, nonce, deadline)));
        _checkSignature(oldAccount, digest, oldSignature);
        // A zero or used `newAccount` is rejected in `_rotate` with its own error, before this
        // check can fail for it.
        if (newAccount != address(0) && _bindingOf[newAccount] == 0) _checkSignature(newAccount, digest, newSignature);
        _rotate(citizenId, newAccount, address(0));
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ICitizenRegistry
    function citizenIdOf(address account) external view returns (uint256) {
        return _currentIdOf(account);
    }

    /// @inheritdoc ICitizenRegistry
    function isActive(address account) external view returns (bool) {
        uint256 citizenId = _currentIdOf(account);
        return citizenId != 0 && _citizens[citizenId].status == Status.Active;
    }

    /// @inheritdoc ICitizenRegistry
    function eligibilityOf(address account)
        external
        view
        returns (uint256 citizenId, bool active, uint8 district, uint16 birthYear)
    {
        citizenId = _currentIdOf(account);
        if (citizenId != 0) {
            Record storage c = _citizens[citizenId];
            active = c.status == Status.Active;
            district = c.district;
            birthYear = c.birthYear;
        }
    }

    /// @inheritdoc ICitizenRegistry
    function citizenOf(uint256 citizenId) external view returns (Citizen memory citizen) {
        Record storage c = _citizens[citizenId];
        citizen.account = c.account;
        citizen.status = c.status;
        citizen.district = c.district;
        citizen.birthYear = c.birthYear;
        citizen.residency = c.residency;
        citizen.suspensionReason = c.suspensionReason;
        citizen.registeredAt = c.registeredAt;
        uint40 updatedAt = _updatedAt[citizenId];
        // 0 means "never updated", not a time that could be manipulated.
        // slither-disable-next-line incorrect-equality
        citizen.updatedAt = updatedAt == 0 ? c.registeredAt : updatedAt;
        citizen.recordHash = c.recordHash;
    }

    /// @inheritdoc ICitizenRegistry
    function accountOf(uint256 citizenId) external view returns (address) {
        return _citizens[citizenId].account;
    }

    /// @inheritdoc ICitizenRegistry
    function statusOf(uint256 citizenId) external view returns (Status) {
        return _citizens[citizenId].status;
    }

    /// @inheritdoc ICitizenRegistry
    function citizenCount() external view returns (uint256) {
        unchecked {
            return _nextCitizenId - 1;
        }
    }

    /// @inheritdoc ICitizenRegistry
    function isAccountUsed(address account) external view returns (bool) {
        return _bindingOf[account] != 0;
    }

    /// @inheritdoc ICitizenRegistry
    function retiredCitizenIdOf(address account) external view returns (uint256) {
        uint256 binding = _bindingOf[account];
        return binding & _RETIRED == 0 ? 0 : binding & ~_RETIRED;
    }

    /// @notice ERC-165: also reports {ICitizenRegistry}.
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(ICitizenRegistry).interfaceId || super.supportsInterface(interfaceId);
    }

    /// @inheritdoc ICitizenRegistry
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- internal: state changes

    function _register(
        address account,
        uint8 district,
        uint16 birthYear,
        uint8 residency,
        bytes32 recordHash,
        address registrar
    ) private returns (uint256 citizenId) {
        _requireUnusedAccount(account);
        _validateAttributes(district, birthYear, residency, recordHash);
        citizenId = _nextCitizenId;
        unchecked {
            _nextCitizenId = citizenId + 1;
        }
        _citizens[citizenId] = Record({
            account: account,
            status: Status.Active,
            district: district,
            birthYear: birthYear,
            residency: Residency(residency),
            suspensionReason: SuspensionReason.None,
            registeredAt: uint40(block.timestamp),
            recordHash: recordHash
        });
        _bindingOf[account] = citizenId;
        emit CitizenRegistered(citizenId, account, district, birthYear, Residency(residency), recordHash, registrar);
    }

    function _update(
        uint256 citizenId,
        uint8 district,
        uint16 birthYear,
        uint8 residency,
        bytes32 recordHash,
        address registrar
    ) private {
        Record storage c = _requireCitizen(citizenId);
        _validateAttributes(district, birthYear, residency, recordHash);
        c.district = district;
        c.birthYear = birthYear;
        c.residency = Residency(residency);
        c.recordHash = recordHash;
        _updatedAt[citizenId] = uint40(block.timestamp);
        emit CitizenUpdated(citizenId, c.account, district, birthYear, Residency(residency), recordHash, registrar);
    }

    function _suspend(uint256 citizenId, uint8 reason, address registrar) private {
        Record storage c = _requireCitizen(citizenId);
        if (reason == 0 || reason > uint8(type(SuspensionReason).max)) {
            revert CitizenRegistryInvalidSuspensionReason(reason);
        }
        c.status = Status.Suspended;
        c.suspensionReason = SuspensionReason(reason);
        _updatedAt[citizenId] = uint40(block.timestamp);
        emit CitizenSuspended(citizenId, c.account, SuspensionReason(reason), registrar);
    }

    function _reinstate(uint256 citizenId, address registrar) private {
        Record storage c = _requireCitizen(citizenId);
        if (c.status != Status.Suspended) revert CitizenRegistryNotSuspended(citizenId);
        c.status = Status.Active;
        c.suspensionReason = SuspensionReason.None;
        _updatedAt[citizenId] = uint40(block.timestamp);
        emit CitizenReinstated(citizenId, c.account, registrar);
    }

    /// @dev `byRegistrar` is address(0) for a self-rotation (checks on the citizen done by the caller).
    function _rotate(uint256 citizenId, address newAccount, address byRegistrar) private {
        Record storage c = _requireCitizen(citizenId);
        _requireUnusedAccount(newAccount);
        address oldAccount = c.account;
        c.account = newAccount;
        _bindingOf[oldAccount] = _RETIRED | citizenId;
        _bindingOf[newAccount] = citizenId;
        _updatedAt[citizenId] = uint40(block.timestamp);
        emit CitizenKeyRotated(citizenId, oldAccount, newAccount, byRegistrar);
    }

    // ---------------------------------------------------------------- internal: checks

    /// @dev Deadline, role at execution time, nonce (consumed), then the signature itself.
    function _checkRegistrarSignature(
        address registrar,
        uint256 nonce,
        uint256 deadline,
        bytes32 structHash,
        bytes calldata signature
    ) private {
        if (block.timestamp > deadline) revert CitizenRegistrySignatureExpired(deadline);
        if (!hasRole(REGISTRAR_ROLE, registrar)) revert CitizenRegistryNotRegistrar(registrar);
        _useCheckedNonce(registrar, nonce);
        _checkSignature(registrar, _hashTypedDataV4(structHash), signature);
    }

    function _checkSignature(address signer, bytes32 digest, bytes calldata signature) private view {
        if (!SignatureChecker.isValidSignatureNow(signer, digest, signature)) {
            revert CitizenRegistryInvalidSignature(signer);
        }
    }

    function _requireCitizen(uint256 citizenId) private view returns (Record storage c) {
        c = _citizens[citizenId];
        if (c.status == Status.None) revert CitizenRegistryUnknownCitizen(citizenId);
    }

    function _requireUnusedAccount(address account) private view {
        if (account == address(0)) revert CitizenRegistryZeroAddress();
        uint256 binding = _bindingOf[account];
        if (binding != 0) {
            if (binding & _RETIRED != 0) revert CitizenRegistryAccountUsed(account);
            revert CitizenRegistryAlreadyRegistered(account);
        }
    }

    function _validateAttributes(uint8 district, uint16 birthYear, uint8 residency, bytes32 recordHash)
        private
        view
    {
        if (district == 0 || district > _DISTRICT_COUNT) revert CitizenRegistryInvalidDistrict(district);
        if (birthYear < _MIN_BIRTH_YEAR || birthYear > _currentYear()) {
            revert CitizenRegistryInvalidBirthYear(birthYear);
        }
        if (residency == 0 || residency > uint8(type(Residency).max)) {
            revert CitizenRegistryInvalidResidency(residency);
        }
        if (recordHash == bytes32(0)) revert CitizenRegistryEmptyRecordHash();
    }

    function _currentIdOf(address account) private view returns (uint256) {
        uint256 binding = _bindingOf[account];
        return binding & _RETIRED == 0 ? binding : 0;
    }

    /// @dev Gregorian year (UTC) of the current block, by the days-to-civil algorithm
    /// (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
    function _currentYear() private view returns (uint256 year) {
        // Floor divisions are the algorithm (days-to-civil), not a loss of precision.
        // slither-disable-start divide-before-multiply
        unchecked {
            uint256 z = block.timestamp / 1 days + 719468;
            uint256 era = z / 146097;
            uint256 doe = z - era * 146097; // [0, 146096]
            uint256 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; // [0, 399]
            uint256 doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365], from March 1st
            uint256 mp = (5 * doy + 2) / 153; // [0, 11], 0 = March
            year = yoe + era * 400 + (mp >= 10 ? 1 : 0); // January and February belong to the next year
        }
        // slither-disable-end divide-before-multiply
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Citizen Card identity (서울시민카드 통합인증)
/// @notice One identity per citizen, bound to one address at a time, with the attributes the
/// other areas need. No personal data: district code, birth year, residency code and a salted
/// hash of the off-chain record.
/// @dev Lifecycle: a registrar (district office, `REGISTRAR_ROLE`) registers an address with
/// attributes, may update them, suspend (with a reason) and reinstate the identity, and may move
/// it to a new address after an in-person check when the old key is lost (`recoverKey`). The
/// citizen moves it to a new address on their own with `rotateKey`, signed by both keys.
/// Registrar actions are EIP-712 messages signed by the registrar and relayed by anyone
/// (domain name "CitizenRegistry", version "1"); the registrar must hold `REGISTRAR_ROLE` when
/// the message executes, so a revoked registrar's pending signatures fail. Nonces are per signer
/// (`nonces(signer)`) and must be used in order.
/// An address is bound to at most one citizen, ever: once rotated away it can never be bound
/// again, and it reads as unbound (id 0, inactive).
interface ICitizenRegistry {
    /// @notice Lifecycle of an identity.
    enum Status {
        None,
        Active,
        Suspended
    }

    /// @notice Residency code (0 is invalid).
    enum Residency {
        None,
        /// @dev 1: resident citizen (주민)
        Resident,
        /// @dev 2: registered foreign resident (등록외국인)
        RegisteredForeigner,
        /// @dev 3: overseas Korean (재외국민)
        OverseasKorean
    }

    /// @notice Why an identity was suspended (0 is invalid as an argument; it is the value of an
    /// identity that is not suspended).
    enum SuspensionReason {
        None,
        /// @dev 1: the key's device was lost or stolen
        LostDevice,
        /// @dev 2: the citizen died
        Deceased,
        /// @dev 3: the citizen moved away from the city
        MovedAway,
        /// @dev 4: any other reason (recorded off chain)
        Other
    }

    /// @notice One identity, as returned by {citizenOf}.
    /// @param account the address currently bound (0 for an unknown id)
    /// @param status `None` for an unknown id
    /// @param district district code 1..25
    /// @param birthYear four-digit year of birth
    /// @param residency residency code
    /// @param suspensionReason reason of the current suspension, `None` when not suspended
    /// @param registeredAt block timestamp of the registration
    /// @param updatedAt block timestamp of the last change (= `registeredAt` if none since)
    /// @param recordHash salted hash of the off-chain record
    struct Citizen {
        address account;
        Status status;
        uint8 district;
        uint16 birthYear;
        Residency residency;
        SuspensionReason suspensionReason;
        uint40 registeredAt;
        uint40 updatedAt;
        bytes32 recordHash;
    }

    // ---------------------------------------------------------------- events

    /// @notice A citizen was registered and bound to `account`.
    event CitizenRegistered(
        uint256 indexed citizenId,
        address indexed account,
        uint8 district,
        uint16 birthYear,
        Residency residency,
        bytes32 recordHash,
        address indexed registrar
    );

    /// @notice A citizen's attributes were replaced (the new values are given).
    event CitizenUpdated(
        uint256 indexed citizenId,
        address indexed account,
        uint8 district,
        uint16 birthYear,
        Residency residency,
        bytes32 recordHash,
        address indexed registrar
    );

    /// @notice A citizen was suspended, or the reason of a suspension was changed.
    event CitizenSuspended(
        uint256 indexed citizenId, address indexed account, SuspensionReason reason, address indexed registrar
    );

    /// @notice A suspended citizen was made active again.
    event CitizenReinstated(uint256 indexed citizenId, address indexed account, address indexed registrar);

    /// @notice The identity moved from `oldAccount` to `newAccount`; `oldAccount` is retired for good.
    /// @param byRegistrar the registrar that performed a recovery, address(0) for a self-rotation
    event CitizenKeyRotated(
        uint256 indexed citizenId, address indexed oldAccount, address indexed newAccount, address byRegistrar
    );

    // ---------------------------------------------------------------- errors

    /// @notice An address argument (admin, account, new account) was the zero address.
    /// @custom:http 422
    error CitizenRegistryZeroAddress();
    /// @notice `registrar` does not hold `REGISTRAR_ROLE` (never had it, or it was revoked).
    /// @custom:http 403
    error CitizenRegistryNotRegistrar(address registrar);
    /// @notice The signed message's `deadline` has passed.
    /// @custom:http 422
    error CitizenRegistrySignatureExpired(uint256 deadline);
    /// @notice The signature is not a valid signature of the message by `expectedSigner`.
    /// @custom:http 403
    error CitizenRegistryInvalidSignature(address expectedSigner);
    /// @notice `account` is currently bound to a citizen.
    /// @custom:http 409
    error CitizenRegistryAlreadyRegistered(address account);
    /// @notice A registrar tried to bind its own key `account` to a citizen (register it, or recover
    /// a citizen's identity to it): an agency key can not also act as a citizen (vote, earn mileage).
    /// @param account the registrar's address, given as the citizen's (new) account
    /// @custom:http 403
    error CitizenRegistryRegistrarAccountForbidden(address account);
    /// @notice `account` was bound to a citizen before and was rotated away: it can never be bound again.
    /// @custom:http 409
    error CitizenRegistryAccountUsed(address account);
    /// @notice `account` is not bound to any citizen.
    /// @custom:http 404
    error CitizenRegistryNotRegistered(address account);
    /// @notice No citizen has id `citizenId`.
    /// @custom:http 404
    error CitizenRegistryUnknownCitizen(uint256 citizenId);
    /// @notice The citizen is not active (it is suspended).
    /// @custom:http 409
    error CitizenRegistryNotActive(uint256 citizenId);
    /// @notice The citizen is not suspended, so it cannot be reinstated.
    /// @custom:http 409
    error CitizenRegistryNotSuspended(uint256 citizenId);
    /// @notice `district` is not a district code 1..25.
    /// @custom:http 422
    error CitizenRegistryInvalidDistrict(uint8 district);
    /// @notice `birthYear` is before 1900 or after the current year.
    /// @custom:http 422
    error CitizenRegistryInvalidBirthYear(uint16 birthYear);
    /// @notice `residency` is not a residency code 1..3.
    /// @custom:http 422
    error CitizenRegistryInvalidResidency(uint8 residency);
    /// @notice `reason` is not a suspension reason code 1..4.
    /// @custom:http 422
    error CitizenRegistryInvalidSuspensionReason(uint8 reason);
    /// @notice `recordHash` is zero.
    /// @custom:http 422
    error CitizenRegistryEmptyRecordHash();

    // ---------------------------------------------------------------- constants

    /// @notice Role of registrars (district offices); its admin is `DEFAULT_ADMIN_ROLE`.
    function REGISTRAR_ROLE() external view returns (bytes32);

    /// @notice keccak256 of the `RegisterCitizen(...)` type string (see {registerCitizen}).
    function REGISTER_CITIZEN_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256 of the `UpdateCitizen(...)` type string (see {updateCitizen}).
    function UPDATE_CITIZEN_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256 of the `SuspendCitizen(...)` type string (see {suspendCitizen}).
    function SUSPEND_CITIZEN_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256 of the `ReinstateCitizen(...)` type string (see {reinstateCitizen}).
    function REINSTATE_CITIZEN_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256 of the `RecoverKey(...)` type string (see {recoverKey}).
    function RECOVER_KEY_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256 of the `RotateKey(...)` type string (see {rotateKey}).
    function ROTATE_KEY_TYPEHASH() external view returns (bytes32);

    // ---------------------------------------------------------------- registrar actions

    /// @notice Registers a citizen and binds it to `account`; the new id is `citizenCount()`.
    /// Signed by `registrar` as
    /// `RegisterCitizen(address account,uint8 district,uint16 birthYear,uint8 residency,bytes32 recordHash,address registrar,uint256 nonce,uint256 deadline)`.
    /// @param account the citizen's address; never bound before, and not `registrar` itself
    /// @param district district code 1..25
    /// @param birthYear 1900..current year
    /// @param residency {Residency} code 1..3
    /// @param recordHash salted hash of the off-chain record (non-zero)
    /// @param registrar signer, must hold `REGISTRAR_ROLE`
    /// @param nonce `nonces(registrar)`
    /// @param deadline last valid block timestamp
    /// @param signature registrar's signature (65-byte ECDSA or ERC-1271)
    /// @return citizenId the new id (ids start at 1)
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
    ) external returns (uint256 citizenId);

    /// @notice Replaces a citizen's attributes (active or suspended). Signed by `registrar` as
    /// `UpdateCitizen(uint256 citizenId,uint8 district,uint16 birthYear,uint8 residency,bytes32 recordHash,address registrar,uint256 nonce,uint256 deadline)`.
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
    ) external;

    /// @notice Suspends a citizen (it stops being active), or changes the reason of a suspension.
    /// Signed by `registrar` as
    /// `SuspendCitizen(uint256 citizenId,uint8 reason,address registrar,uint256 nonce,uint256 deadline)`.
    /// @param reason {SuspensionReason} code 1..4
    function suspendCitizen(
        uint256 citizenId,
        uint8 reason,
        address registrar,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Makes a suspended citizen active again. Signed by `registrar` as
    /// `ReinstateCitizen(uint256 citizenId,address registrar,uint256 nonce,uint256 deadline)`.
    function reinstateCitizen(uint256 citizenId, address registrar, uint256 nonce, uint256 deadline, bytes calldata signature)
        external;

    /// @notice Moves a citizen (active or suspended; the status is kept) to `newAccount` after an
    /// in-person check, when the old key is lost. The old address is retired for good. Signed by
    /// `registrar` as
    /// `RecoverKey(uint256 citizenId,address newAccount,address registrar,uint256 nonce,uint256 deadline)`.
    /// @param newAccount never bound before, and not `registrar` itself
    function recoverKey(
        uint256 citizenId,
        address newAccount,
        address registrar,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external;

    // ---------------------------------------------------------------- citizen action

    /// @notice The citizen moves their active identity from `oldAccount` to `newAccount`. Both keys
    /// sign the same message
    /// `RotateKey(address oldAccount,address newAccount,uint256 nonce,uint256 deadline)`:
    /// the old key authorises, the new key proves possession. `oldAccount` stops working at once
    /// and can never be bound again. Relayed by anyone.
    /// @param nonce `nonces(oldAccount)`
    /// @param oldSignature signature by `oldAccount`
    /// @param newSignature signature by `newAccount`
    function rotateKey(
        address oldAccount,
        address newAccount,
        uint256 nonce,
        uint256 deadline,
        bytes calldata oldSignature,
        bytes calldata newSignature
    ) external;

    // ---------------------------------------------------------------- views

    /// @notice The stable citizen id bound to `account`, 0 when the address is not (or no longer) bound.
    /// @dev Ids never change across key rotations: areas that must count a person once key on it.
    function citizenIdOf(address account) external view returns (uint256 citizenId);

    /// @notice Whether `account` is the current key of an active citizen.
    function isActive(address account) external view returns (bool);

    /// @notice What eligibility checks need, in one call.
    /// @return citizenId stable id (0 when unbound)
    /// @return active whether the identity is active
    /// @return district district code, 1..25 (the autonomous districts, see backend `DISTRICTS`)
    /// @return birthYear year of birth (a four-digit year)
    function eligibilityOf(address account)
        external
        view
        returns (uint256 citizenId, bool active, uint8 district, uint16 birthYear);

    /// @notice The identity with id `citizenId`; all zero (status `None`) for an unknown id.
    function citizenOf(uint256 citizenId) external view returns (Citizen memory);

    /// @notice The address currently bound to `citizenId`, address(0) for an unknown id.
    function accountOf(uint256 citizenId) external view returns (address);

    /// @notice The status of `citizenId`, `None` for an unknown id.
    function statusOf(uint256 citizenId) external view returns (Status);

    /// @notice Number of citizens ever registered (= the highest id).
    function citizenCount() external view returns (uint256);

    /// @notice Whether `account` was ever bound to a citizen (currently bound or retired): if so it
    /// can not be registered or rotated to.
    function isAccountUsed(address account) external view returns (bool);

    /// @notice The citizen `account` was bound to before it was rotated away, 0 if it never was
    /// (a currently bound address also returns 0: see {citizenIdOf}).
    function retiredCitizenIdOf(address account) external view returns (uint256);

    /// @notice The EIP-712 domain separator of this contract.
    function DOMAIN_SEPARATOR() external view returns (bytes32);
}

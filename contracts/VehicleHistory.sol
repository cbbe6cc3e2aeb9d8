// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

import {ICitizenRegistry} from "./interfaces/ICitizenRegistry.sol";
import {IVehicleHistory} from "./interfaces/IVehicleHistory.sol";

/// @title Used-car history (장안평 중고차)
/// @notice See {IVehicleHistory}. Authorised parties sign records, anyone relays, a buyer checks.
/// @dev Gas layout: a vehicle is one hot slot (`VehicleSlot`: highest reading, current inspection and
/// its time, offer counter, owner counter, lien / seizure counts) read and written by every record,
/// plus its owner's address in a second slot touched only by trades, plus one slot for the open offer
/// (`inspectionId << 208 | uint208(keccak(seller, buyer, price))`, deleted when accepted). Inspection
/// findings, claims, maintenance and prices live in the events only.
contract VehicleHistory is IVehicleHistory, AccessControl, EIP712, Nonces {
    /// @inheritdoc IVehicleHistory
    bytes32 public constant REGISTRY_ROLE = keccak256("REGISTRY_ROLE");
    /// @inheritdoc IVehicleHistory
    bytes32 public constant DEALER_ROLE = keccak256("DEALER_ROLE");
    /// @inheritdoc IVehicleHistory
    bytes32 public constant INSPECTOR_ROLE = keccak256("INSPECTOR_ROLE");
    /// @inheritdoc IVehicleHistory
    bytes32 public constant INSURER_ROLE = keccak256("INSURER_ROLE");
    /// @inheritdoc IVehicleHistory
    bytes32 public constant SHOP_ROLE = keccak256("SHOP_ROLE");
    /// @inheritdoc IVehicleHistory
    uint256 public constant INSPECTION_VALIDITY = 120 days;

    bytes32 public constant REGISTER_VEHICLE_TYPEHASH = keccak256(
        "RegisterVehicle(bytes32 vin,string make,string model,uint16 modelYear,uint32 firstRegistered,address owner,"
        "address registry,uint256 nonce,uint256 deadline)"
    );
    bytes32 public constant RECORD_ODOMETER_TYPEHASH = keccak256(
        "RecordOdometer(bytes32 vin,uint32 km,uint8 source,address recorder,uint256 nonce,uint256 deadline)"
    );
    bytes32 public constant RECORD_INSPECTION_TYPEHASH = keccak256(
        "RecordInspection(bytes32 vin,uint32 km,bool accidentRepair,uint16 panels,bool flood,bool tuning,"
        "bool emissionsPass,bytes32 recordHash,address inspector,uint256 nonce,uint256 deadline)"
    );
    bytes32 public constant RECORD_CLAIM_TYPEHASH = keccak256(
        "RecordClaim(bytes32 vin,uint8 kind,bytes32 claimHash,address insurer,uint256 nonce,uint256 deadline)"
    );
    bytes32 public constant SET_ENCUMBRANCE_TYPEHASH = keccak256(
        "SetEncumbrance(bytes32 vin,uint8 kind,bool active,bytes32 refHash,address registry,uint256 nonce,"
        "uint256 deadline)"
    );
    bytes32 public constant RECORD_MAINTENANCE_TYPEHASH = keccak256(
        "RecordMaintenance(bytes32 vin,uint32 km,bytes32 workHash,address shop,uint256 nonce,uint256 deadline)"
    );
    bytes32 public constant REGISTER_PURCHASE_TYPEHASH = keccak256(
        "RegisterPurchase(bytes32 vin,address seller,address dealer,uint256 price,uint256 nonce,uint256 deadline)"
    );
    bytes32 public constant OFFER_SALE_TYPEHASH = keccak256(
        "OfferSale(bytes32 vin,uint32 offerId,address seller,address buyer,uint256 price,uint48 inspectionId,"
        "uint256 nonce,uint256 deadline)"
    );
    bytes32 public constant ACCEPT_SALE_TYPEHASH = keccak256(
        "AcceptSale(bytes32 vin,uint32 offerId,address seller,address buyer,uint256 price,uint48 inspectionId,"
        "uint256 deadline)"
    );

    struct VehicleSlot {
        bool registered;
        uint32 highestKm;
        uint48 inspectionId;
        uint40 inspectedAt;
        uint32 offerCount;
        uint16 owners;
        uint8 liens;
        uint8 seizures;
    }

    uint256 private constant _TAG_BITS = 208;

    ICitizenRegistry private immutable _registry;
    uint48 private _inspectionCount;

    mapping(bytes32 vin => VehicleSlot) private _vehicles;
    mapping(bytes32 vin => address owner) private _owners;
    mapping(bytes32 vin => uint256 offer) private _offers;

    constructor(address admin, ICitizenRegistry registry) EIP712("VehicleHistory", "1") {
        if (admin == address(0) || address(registry) == address(0)) revert VehicleHistoryZeroAddress();
        _registry = registry;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---------------------------------------------------------------- registration

    /// @inheritdoc IVehicleHistory
    function registerVehicle(
        bytes32 vin,
        VehicleDetails calldata details,
        address owner,
        address registry,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash = _registerHash(vin, details, owner, registry, nonce, deadline);
        _authorise(registry, REGISTRY_ROLE, nonce, deadline, structHash, signature);
        if (vin == bytes32(0) || details.firstRegistered == 0) revert VehicleHistoryInvalidRecord(vin);
        VehicleSlot storage v = _vehicles[vin];
        if (v.registered) revert VehicleHistoryAlreadyRegistered(vin);
        _checkEligibleOwner(owner);
        v.registered = true;
        v.owners = 1;
        _owners[vin] = owner;
        emit VehicleRegistered(vin, owner, registry, details, uint40(block.timestamp));
    }

    // ---------------------------------------------------------------- odometer

    /// @inheritdoc IVehicleHistory
    function recordOdometer(
        bytes32 vin,
        uint32 km,
        Source source,
        address recorder,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        VehicleSlot memory v = _signedReading(vin, km, source, recorder, nonce, deadline, signature);
        if (km < v.highestKm) revert VehicleHistoryOdometerRollback(vin, km, v.highestKm);
        if (km != v.highestKm) _vehicles[vin].highestKm = km;
        emit OdometerRecorded(vin, recorder, source, km, uint40(block.timestamp));
    }

    /// @inheritdoc IVehicleHistory
    function reportRollback(
        bytes32 vin,
        uint32 km,
        Source source,
        address recorder,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        VehicleSlot memory v = _signedReading(vin, km, source, recorder, nonce, deadline, signature);
        if (km >= v.highestKm) revert VehicleHistoryNotARollback(vin, km, v.highestKm);
        emit OdometerRollbackRefused(vin, recorder, source, km, v.highestKm, uint40(block.timestamp));
    }

    // ---------------------------------------------------------------- inspections, claims, liens, shops

    /// @inheritdoc IVehicleHistory
    function recordInspection(
        bytes32 vin,
        InspectionFindings calldata findings,
        address inspector,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint48 inspectionId) {
        // A static struct ABI-encodes as its fields in order: the flat EIP-712 encoding of the message.
        bytes32 structHash =
            keccak256(abi.encode(RECORD_INSPECTION_TYPEHASH, vin, findings, inspector, nonce, deadline));
        _authorise(inspector, INSPECTOR_ROLE, nonce, deadline, structHash, signature);
        VehicleSlot memory v = _load(vin);
        if (findings.km < v.highestKm) revert VehicleHistoryOdometerRollback(vin, findings.km, v.highestKm);
        inspectionId = ++_inspectionCount;
        v.highestKm = findings.km;
        v.inspectionId = inspectionId;
        v.inspectedAt = uint40(block.timestamp);
        _vehicles[vin] = v;
        emit InspectionRecorded(vin, inspectionId, inspector, findings, uint40(block.timestamp));
    }

    /// @inheritdoc IVehicleHistory
    function recordClaim(
        bytes32 vin,
        ClaimKind kind,
        bytes32 claimHash,
        address insurer,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash =
            keccak256(abi.encode(RECORD_CLAIM_TYPEHASH, vin, kind, claimHash, insurer, nonce, deadline));
        _authorise(insurer, INSURER_ROLE, nonce, deadline, structHash, signature);
        _load(vin);
        emit ClaimRecorded(vin, insurer, kind, claimHash, uint40(block.timestamp));
    }

    /// @inheritdoc IVehicleHistory
    function setEncumbrance(
        bytes32 vin,
        EncumbranceKind kind,
        bool active,
        bytes32 refHash,
        address registry,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash =
            keccak256(abi.encode(SET_ENCUMBRANCE_TYPEHASH, vin, kind, active, refHash, registry, nonce, deadline));
        _authorise(registry, REGISTRY_ROLE, nonce, deadline, structHash, signature);
        VehicleSlot memory v = _load(vin);
        uint8 count = kind == EncumbranceKind.Lien ? v.liens : v.seizures;
        if (active) {
            ++count; // checked: more than 255 active of one kind reverts
        } else {
            if (count == 0) revert VehicleHistoryNoActiveEncumbrance(vin, kind);
            --count;
        }
        if (kind == EncumbranceKind.Lien) _vehicles[vin].liens = count;
        else _vehicles[vin].seizures = count;
        emit EncumbranceRecorded(vin, registry, kind, active, refHash, count, uint40(block.timestamp));
    }

    /// @inheritdoc IVehicleHistory
    function recordMaintenance(
        bytes32 vin,
        uint32 km,
        bytes32 workHash,
        address shop,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash =
            keccak256(abi.encode(RECORD_MAINTENANCE_TYPEHASH, vin, km, workHash, shop, nonce, deadline));
        _authorise(shop, SHOP_ROLE, nonce, deadline, structHash, signature);
        VehicleSlot memory v = _load(vin);
        if (km < v.highestKm) revert VehicleHistoryOdometerRollback(vin, km, v.highestKm);
        if (km != v.highestKm) _vehicles[vin].highestKm = km;
        emit MaintenanceRecorded(vin, shop, km, workHash, uint40(block.timestamp));
    }

    // ---------------------------------------------------------------- trades

    /// @inheritdoc IVehicleHistory
    function registerPurchase(
        bytes32 vin,
        address seller,
        address dealer,
        uint256 price,
        uint256 nonce,
        uint256 deadline,
        bytes calldata dealerSignature,
        bytes calldata sellerSignature
    ) external {
        bytes32 structHash =
            keccak256(abi.encode(REGISTER_PURCHASE_TYPEHASH, vin, seller, dealer, price, nonce, deadline));
        _authorise(dealer, DEALER_ROLE, nonce, deadline, structHash, dealerSignature);
        if (!_isValidSignature(seller, _hashTypedDataV4(structHash), sellerSignature)) {
            revert VehicleHistoryInvalidSignature(seller);
        }
        VehicleSlot memory v = _load(vin);
        _checkOwner(vin, seller);
        _checkUnencumbered(vin, v);
        if (seller == dealer) revert VehicleHistorySelfSale(vin, dealer);
        _owners[vin] = dealer;
        ++_vehicles[vin].owners;
        delete _offers[vin]; // the previous owner's open offer dies with the ownership
        emit PurchaseRegistered(vin, seller, dealer, price, uint40(block.timestamp));
    }

    /// @inheritdoc IVehicleHistory
    function offerSale(
        bytes32 vin,
        uint32 offerId,
        address seller,
        address buyer,
        uint256 price,
        uint48 inspectionId,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash = keccak256(
            abi.encode(OFFER_SALE_TYPEHASH, vin, offerId, seller, buyer, price, inspectionId, nonce, deadline)
        );
        if (block.timestamp > deadline) revert VehicleHistorySignatureExpired(deadline);
        if (!_isValidSignature(seller, _hashTypedDataV4(structHash), signature)) {
            revert VehicleHistoryInvalidSignature(seller);
        }
        _useCheckedNonce(seller, nonce);
        VehicleSlot memory v = _load(vin);
        _checkOwner(vin, seller);
        if (buyer == seller) revert VehicleHistorySelfSale(vin, seller);
        if (offerId != v.offerCount + 1) revert VehicleHistoryUnknownOffer(vin, offerId);
        _checkUnencumbered(vin, v);
        _checkInspection(vin, v, inspectionId);
        _vehicles[vin].offerCount = offerId;
        _offers[vin] = (uint256(inspectionId) << _TAG_BITS) | _tag(seller, buyer, price);
        emit SaleOffered(vin, offerId, seller, buyer, price, inspectionId, uint40(block.timestamp));
    }

    /// @inheritdoc IVehicleHistory
    function acceptSale(
        bytes32 vin,
        uint32 offerId,
        address seller,
        address buyer,
        uint256 price,
        uint48 inspectionId,
        uint256 deadline,
        bytes calldata signature
    ) external {
        bytes32 structHash = keccak256(
            abi.encode(ACCEPT_SALE_TYPEHASH, vin, offerId, seller, buyer, price, inspectionId, deadline)
        );
        if (block.timestamp > deadline) revert VehicleHistorySignatureExpired(deadline);
        if (!_isValidSignature(buyer, _hashTypedDataV4(structHash), signature)) {
            revert VehicleHistoryInvalidSignature(buyer);
        }
        VehicleSlot memory v = _load(vin);
        uint256 offer = _offers[vin];
        if (offer == 0 || offerId != v.offerCount) revert VehicleHistoryUnknownOffer(vin, offerId);
        uint48 offered = uint48(offer >> _TAG_BITS);
        if (offered != inspectionId) revert VehicleHistoryInspectionMismatch(vin, offerId, offered, inspectionId);
        if (uint208(offer) != _tag(seller, buyer, price)) revert VehicleHistoryOfferMismatch(vin, offerId);
        _checkOwner(vin, seller);
        _checkUnencumbered(vin, v);
        _checkInspection(vin, v, inspectionId);
        _checkEligibleOwner(buyer);
        delete _offers[vin];
        _owners[vin] = buyer;
        ++_vehicles[vin].owners;
        emit SaleCompleted(vin, offerId, buyer, seller, price, inspectionId, uint40(block.timestamp));
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IVehicleHistory
    function vehicleOf(bytes32 vin) external view returns (Vehicle memory) {
        VehicleSlot memory v = _vehicles[vin];
        return Vehicle({
            registered: v.registered,
            owner: _owners[vin],
            highestKm: v.highestKm,
            inspectionId: v.inspectionId,
            inspectedAt: v.inspectedAt,
            offerCount: v.offerCount,
            owners: v.owners,
            liens: v.liens,
            seizures: v.seizures
        });
    }

    /// @inheritdoc IVehicleHistory
    function openOfferOf(bytes32 vin) external view returns (uint32 offerId, uint48 inspectionId) {
        uint256 offer = _offers[vin];
        if (offer != 0) return (_vehicles[vin].offerCount, uint48(offer >> _TAG_BITS));
    }

    /// @inheritdoc IVehicleHistory
    function inspectionCount() external view returns (uint48) {
        return _inspectionCount;
    }

    /// @inheritdoc IVehicleHistory
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- internals

    function _registerHash(
        bytes32 vin,
        VehicleDetails calldata details,
        address owner,
        address registry,
        uint256 nonce,
        uint256 deadline
    ) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                REGISTER_VEHICLE_TYPEHASH,
                vin,
                keccak256(bytes(details.make)),
                keccak256(bytes(details.model)),
                details.modelYear,
                details.firstRegistered,
                owner,
                registry,
                nonce,
                deadline
            )
        );
    }

    /// @dev Deadline, role, signature and nonce of a record signed by `signer`.
    function _authorise(
        address signer,
        bytes32 role,
        uint256 nonce,
        uint256 deadline,
        bytes32 structHash,
        bytes calldata signature
    ) private {
        if (block.timestamp > deadline) revert VehicleHistorySignatureExpired(deadline);
        if (!hasRole(role, signer)) revert VehicleHistoryUnauthorized(signer, role);
        if (!_isValidSignature(signer, _hashTypedDataV4(structHash), signature)) {
            revert VehicleHistoryInvalidSignature(signer);
        }
        _useCheckedNonce(signer, nonce);
    }

    /// @dev A signed `RecordOdometer` message, checked (role of the source, or the owner), nonce used.
    function _signedReading(
        bytes32 vin,
        uint32 km,
        Source source,
        address recorder,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) private returns (VehicleSlot memory v) {
        bytes32 structHash =
            keccak256(abi.encode(RECORD_ODOMETER_TYPEHASH, vin, km, source, recorder, nonce, deadline));
        if (source == Source.Owner) {
            if (block.timestamp > deadline) revert VehicleHistorySignatureExpired(deadline);
            address owner = _owners[vin];
            if (recorder != owner) revert VehicleHistoryNotOwner(vin, recorder, owner);
            if (!_isValidSignature(recorder, _hashTypedDataV4(structHash), signature)) {
                revert VehicleHistoryInvalidSignature(recorder);
            }
            _useCheckedNonce(recorder, nonce);
        } else {
            _authorise(recorder, _roleOf(source), nonce, deadline, structHash, signature);
        }
        v = _load(vin);
    }

    function _roleOf(Source source) private pure returns (bytes32) {
        if (source == Source.Inspection) return INSPECTOR_ROLE;
        if (source == Source.PeriodicInspection) return REGISTRY_ROLE;
        if (source == Source.Shop) return SHOP_ROLE;
        return DEALER_ROLE;
    }

    function _load(bytes32 vin) private view returns (VehicleSlot memory v) {
        v = _vehicles[vin];
        if (!v.registered) revert VehicleHistoryUnknownVehicle(vin);
    }

    function _checkOwner(bytes32 vin, address account) private view {
        address owner = _owners[vin];
        if (account != owner) revert VehicleHistoryNotOwner(vin, account, owner);
    }

    function _checkUnencumbered(bytes32 vin, VehicleSlot memory v) private pure {
        if (v.liens != 0 || v.seizures != 0) revert VehicleHistoryEncumbered(vin, v.liens, v.seizures);
    }

    /// @dev `inspectionId` must be the vehicle's current inspection, younger than INSPECTION_VALIDITY.
    function _checkInspection(bytes32 vin, VehicleSlot memory v, uint48 inspectionId) private view {
        if (inspectionId == 0 || inspectionId != v.inspectionId) {
            revert VehicleHistoryInspectionNotCurrent(vin, inspectionId, v.inspectionId);
        }
        uint256 validUntil = uint256(v.inspectedAt) + INSPECTION_VALIDITY;
        if (block.timestamp > validUntil) {
            revert VehicleHistoryInspectionExpired(vin, inspectionId, v.inspectedAt, validUntil);
        }
    }

    /// @dev An owner is the current key of an active citizen, or a dealer.
    function _checkEligibleOwner(address account) private view {
        if (account == address(0)) revert VehicleHistoryZeroAddress();
        if (!_registry.isActive(account) && !hasRole(DEALER_ROLE, account)) {
            revert VehicleHistoryNotEligibleOwner(account);
        }
    }

    function _tag(address seller, address buyer, uint256 price) private pure returns (uint256) {
        return uint256(uint208(uint256(keccak256(abi.encode(seller, buyer, price)))));
    }

    /// @dev ECDSA first (no code-size lookup of the signer on the common path), then ERC-1271.
    function _isValidSignature(address signer, bytes32 digest, bytes calldata signature) private view returns (bool) {
        // The third value (errorArg) only details an error, and err is checked.
        // slither-disable-next-line unused-return
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == signer) return true;
        return SignatureChecker.isValidERC1271SignatureNow(signer, digest, signature);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Used-car history (장안평 중고차)
/// @notice A used car's registration, odometer readings, performance/condition inspection records
/// (성능·상태점검기록부), insurers' accident / flood / total-loss claims, liens and seizures (저당·압류),
/// maintenance and trades, recorded by authorised parties so that a buyer can check the car before
/// paying.
///
/// A vehicle is keyed by `vin`: the keccak-256 of its normalised VIN (17 characters of the ISO 3779
/// alphabet, upper case; validated off chain). Every event names it as its first indexed topic, so
/// one vehicle's whole history is one `eth_getLogs` filter on that topic.
///
/// Every record is an EIP-712 message signed by the recording party's own key and relayed by
/// anyone; the signer is a field of the message and must hold the role for the record
/// (`REGISTRY_ROLE` the registration office, `DEALER_ROLE` licensed dealers, `INSPECTOR_ROLE`
/// performance-check centres, `INSURER_ROLE` insurers, `SHOP_ROLE` maintenance shops). Each signer
/// has one nonce counter ({nonces}); an accepted sale needs none (the offer id is single-use).
///
/// Odometer: a reading lower than the highest earlier one is refused ({VehicleHistoryOdometerRollback});
/// the signed refused reading can then be put on record with {reportRollback}, so the attempt shows in
/// the car's history. Inspections are valid {INSPECTION_VALIDITY} (120 days). A sale is two steps: the
/// owner offers the car to a buyer with the id of the vehicle's current inspection ({offerSale}), the
/// buyer signs the offer, which binds the buyer to exactly that inspection ({acceptSale}). Ownership
/// never changes while a lien or seizure is active, and a sale needs an inspection younger than 120 days.
///
/// Owners are addresses only: the current key of an active citizen of the identity area
/// (`CitizenRegistry`) or a dealer. No names, no plates, no inspection document: hashes only.
interface IVehicleHistory {
    /// @notice Who read an odometer, and which role that needs.
    enum Source {
        /// @dev 0: a performance/condition inspection (INSPECTOR_ROLE)
        Inspection,
        /// @dev 1: the statutory periodic inspection, recorded by the registry (REGISTRY_ROLE)
        PeriodicInspection,
        /// @dev 2: a maintenance shop (SHOP_ROLE)
        Shop,
        /// @dev 3: a dealer (DEALER_ROLE)
        Dealer,
        /// @dev 4: the owner (the vehicle's current owner)
        Owner
    }

    /// @notice An insurer's claim.
    enum ClaimKind {
        Accident,
        Flood,
        TotalLoss
    }

    /// @notice A restriction on transfers set by the registry.
    enum EncumbranceKind {
        /// @dev 0: 저당 (a mortgage / lien)
        Lien,
        /// @dev 1: 압류 (a seizure)
        Seizure
    }

    /// @notice What a performance/condition inspection found (the fields that matter to a buyer).
    /// @param km the odometer reading
    /// @param accidentRepair whether accident repairs were found
    /// @param panels bitmask of the repaired / replaced panels (bit order: see the backend's PANELS)
    /// @param flood flood damage found
    /// @param tuning illegal tuning (modification) found
    /// @param emissionsPass whether the emissions test passed
    /// @param recordHash keccak-256 of the full inspection record (the document stays off chain)
    struct InspectionFindings {
        uint32 km;
        bool accidentRepair;
        uint16 panels;
        bool flood;
        bool tuning;
        bool emissionsPass;
        bytes32 recordHash;
    }

    /// @notice What the registry registers about a vehicle (in the event only, never in storage).
    /// @param firstRegistered the first-registration date as yyyymmdd
    struct VehicleDetails {
        string make;
        string model;
        uint16 modelYear;
        uint32 firstRegistered;
    }

    /// @notice A vehicle as returned by {vehicleOf}.
    struct Vehicle {
        bool registered;
        address owner;
        uint32 highestKm;
        uint48 inspectionId;
        uint40 inspectedAt;
        uint32 offerCount;
        uint16 owners;
        uint8 liens;
        uint8 seizures;
    }

    // ---------------------------------------------------------------- events

    /// @notice The registry registered vehicle `vin` to `owner`.
    event VehicleRegistered(
        bytes32 indexed vin, address indexed owner, address indexed registry, VehicleDetails details, uint40 at
    );
    /// @notice `recorder` read `km` on the odometer of `vin`.
    event OdometerRecorded(bytes32 indexed vin, address indexed recorder, Source source, uint32 km, uint40 at);
    /// @notice A signed reading of `km`, lower than the highest reading `highest`, was refused and put on record.
    event OdometerRollbackRefused(
        bytes32 indexed vin, address indexed recorder, Source source, uint32 km, uint32 highest, uint40 at
    );
    /// @notice `inspector` recorded inspection `inspectionId` of `vin`.
    event InspectionRecorded(
        bytes32 indexed vin,
        uint48 indexed inspectionId,
        address indexed inspector,
        InspectionFindings findings,
        uint40 at
    );
    /// @notice `insurer` recorded a claim of `kind` on `vin`.
    event ClaimRecorded(bytes32 indexed vin, address indexed insurer, ClaimKind kind, bytes32 claimHash, uint40 at);
    /// @notice The registry set (`active`) or lifted a lien or seizure; `remaining` of that kind stay active.
    event EncumbranceRecorded(
        bytes32 indexed vin,
        address indexed registry,
        EncumbranceKind kind,
        bool active,
        bytes32 refHash,
        uint8 remaining,
        uint40 at
    );
    /// @notice `shop` recorded maintenance work `workHash` at `km`.
    event MaintenanceRecorded(bytes32 indexed vin, address indexed shop, uint32 km, bytes32 workHash, uint40 at);
    /// @notice `dealer` bought `vin` from `seller` (purchase registration, 매입 등록).
    event PurchaseRegistered(
        bytes32 indexed vin, address indexed seller, address indexed dealer, uint256 price, uint40 at
    );
    /// @notice `seller` offered `vin` to `buyer` with inspection `inspectionId`.
    event SaleOffered(
        bytes32 indexed vin,
        uint32 indexed offerId,
        address indexed seller,
        address buyer,
        uint256 price,
        uint48 inspectionId,
        uint40 at
    );
    /// @notice `buyer` accepted offer `offerId`, bound to inspection `inspectionId`: the buyer owns `vin`.
    event SaleCompleted(
        bytes32 indexed vin,
        uint32 indexed offerId,
        address indexed buyer,
        address seller,
        uint256 price,
        uint48 inspectionId,
        uint40 at
    );

    // ---------------------------------------------------------------- errors

    /// @notice An address argument (admin, registry) was the zero address.
    /// @custom:http 422
    error VehicleHistoryZeroAddress();
    /// @notice The vehicle key is zero, or the first-registration date is zero.
    /// @custom:http 422
    error VehicleHistoryInvalidRecord(bytes32 vin);
    /// @notice No vehicle is registered under `vin`.
    /// @custom:http 404
    error VehicleHistoryUnknownVehicle(bytes32 vin);
    /// @notice Vehicle `vin` is registered already.
    /// @custom:http 409
    error VehicleHistoryAlreadyRegistered(bytes32 vin);
    /// @notice `signer` does not hold `role`, which this record needs.
    /// @custom:http 403
    error VehicleHistoryUnauthorized(address signer, bytes32 role);
    /// @notice The signature is not `signer`'s signature of the message.
    /// @custom:http 403
    error VehicleHistoryInvalidSignature(address signer);
    /// @notice The signed message's `deadline` has passed.
    /// @custom:http 422
    error VehicleHistorySignatureExpired(uint256 deadline);
    /// @notice Odometer reading `reading` of `vin` is lower than its highest earlier reading `highest`.
    /// @custom:http 409
    error VehicleHistoryOdometerRollback(bytes32 vin, uint32 reading, uint32 highest);
    /// @notice {reportRollback} of a reading `reading` that is not lower than the highest `highest`.
    /// @custom:http 422
    error VehicleHistoryNotARollback(bytes32 vin, uint32 reading, uint32 highest);
    /// @notice `account` is not the owner `owner` of `vin`.
    /// @custom:http 403
    error VehicleHistoryNotOwner(bytes32 vin, address account, address owner);
    /// @notice `account` can not own a vehicle: it is neither an active citizen's current key nor a dealer.
    /// @custom:http 403
    error VehicleHistoryNotEligibleOwner(address account);
    /// @notice `vin` has `liens` liens and `seizures` seizures active: its ownership can not change.
    /// @custom:http 409
    error VehicleHistoryEncumbered(bytes32 vin, uint8 liens, uint8 seizures);
    /// @notice No active encumbrance of `kind` on `vin` to lift.
    /// @custom:http 409
    error VehicleHistoryNoActiveEncumbrance(bytes32 vin, EncumbranceKind kind);
    /// @notice Inspection `inspectionId` is not the current inspection `current` of `vin` (0: none yet).
    /// @custom:http 409
    error VehicleHistoryInspectionNotCurrent(bytes32 vin, uint48 inspectionId, uint48 current);
    /// @notice Inspection `inspectionId` of `vin` (of `inspectedAt`) expired at `validUntil`.
    /// @custom:http 409
    error VehicleHistoryInspectionExpired(bytes32 vin, uint48 inspectionId, uint40 inspectedAt, uint256 validUntil);
    /// @notice Offer `offerId` of `vin` is not open (never made, superseded or accepted).
    /// @custom:http 404
    error VehicleHistoryUnknownOffer(bytes32 vin, uint32 offerId);
    /// @notice The buyer accepted inspection `accepted`, offer `offerId` of `vin` names inspection `offered`.
    /// @custom:http 409
    error VehicleHistoryInspectionMismatch(bytes32 vin, uint32 offerId, uint48 offered, uint48 accepted);
    /// @notice The accepted seller, buyer or price are not those of offer `offerId` of `vin`.
    /// @custom:http 409
    error VehicleHistoryOfferMismatch(bytes32 vin, uint32 offerId);
    /// @notice A seller offered the vehicle to itself.
    /// @custom:http 422
    error VehicleHistorySelfSale(bytes32 vin, address account);

    // ---------------------------------------------------------------- constants

    /// @notice The vehicle registration office.
    function REGISTRY_ROLE() external view returns (bytes32);
    /// @notice Licensed used-car dealers.
    function DEALER_ROLE() external view returns (bytes32);
    /// @notice Performance-check centres.
    function INSPECTOR_ROLE() external view returns (bytes32);
    /// @notice Insurers (accident, flood, total-loss claims).
    function INSURER_ROLE() external view returns (bytes32);
    /// @notice Maintenance shops.
    function SHOP_ROLE() external view returns (bytes32);
    /// @notice How long an inspection stays valid for a sale (120 days).
    function INSPECTION_VALIDITY() external view returns (uint256);

    // ---------------------------------------------------------------- records (signed, relayed)

    /// @notice Registers vehicle `vin` to `owner` (an active citizen or a dealer). Signed by `registry`
    /// (REGISTRY_ROLE) as `RegisterVehicle(bytes32 vin,string make,string model,uint16 modelYear,
    /// uint32 firstRegistered,address owner,address registry,uint256 nonce,uint256 deadline)`.
    function registerVehicle(
        bytes32 vin,
        VehicleDetails calldata details,
        address owner,
        address registry,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Records an odometer reading; lower than the highest earlier reading reverts with
    /// {VehicleHistoryOdometerRollback}. Signed by `recorder` as `RecordOdometer(bytes32 vin,uint32 km,
    /// uint8 source,address recorder,uint256 nonce,uint256 deadline)`; `recorder` must hold the
    /// source's role (see {Source}) or, for `Owner`, be the owner.
    function recordOdometer(
        bytes32 vin,
        uint32 km,
        Source source,
        address recorder,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Puts a refused reading on record: the same signed `RecordOdometer` message, whose
    /// reading is lower than the highest; emits {OdometerRollbackRefused} and uses the nonce, nothing
    /// else changes. Reverts with {VehicleHistoryNotARollback} for a reading that is not lower.
    function reportRollback(
        bytes32 vin,
        uint32 km,
        Source source,
        address recorder,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Records inspection findings (their odometer reading too, by the rollback rule) as the
    /// vehicle's current inspection; ids start at 1. Signed by `inspector` (INSPECTOR_ROLE) as
    /// `RecordInspection(bytes32 vin,uint32 km,bool accidentRepair,uint16 panels,bool flood,bool tuning,
    /// bool emissionsPass,bytes32 recordHash,address inspector,uint256 nonce,uint256 deadline)`.
    function recordInspection(
        bytes32 vin,
        InspectionFindings calldata findings,
        address inspector,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint48 inspectionId);

    /// @notice Records an insurer's claim. Signed by `insurer` (INSURER_ROLE) as
    /// `RecordClaim(bytes32 vin,uint8 kind,bytes32 claimHash,address insurer,uint256 nonce,uint256 deadline)`.
    function recordClaim(
        bytes32 vin,
        ClaimKind kind,
        bytes32 claimHash,
        address insurer,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Sets (`active`) or lifts a lien or seizure. Signed by `registry` (REGISTRY_ROLE) as
    /// `SetEncumbrance(bytes32 vin,uint8 kind,bool active,bytes32 refHash,address registry,uint256 nonce,
    /// uint256 deadline)`.
    function setEncumbrance(
        bytes32 vin,
        EncumbranceKind kind,
        bool active,
        bytes32 refHash,
        address registry,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Records maintenance with the odometer reading at it (the rollback rule applies).
    /// Signed by `shop` (SHOP_ROLE) as `RecordMaintenance(bytes32 vin,uint32 km,bytes32 workHash,
    /// address shop,uint256 nonce,uint256 deadline)`.
    function recordMaintenance(
        bytes32 vin,
        uint32 km,
        bytes32 workHash,
        address shop,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Purchase registration: `dealer` (DEALER_ROLE) buys `vin` from its owner `seller`. Both
    /// sign `RegisterPurchase(bytes32 vin,address seller,address dealer,uint256 price,uint256 nonce,
    /// uint256 deadline)`, `nonce` being the dealer's. The previous owner's open offer is closed.
    function registerPurchase(
        bytes32 vin,
        address seller,
        address dealer,
        uint256 price,
        uint256 nonce,
        uint256 deadline,
        bytes calldata dealerSignature,
        bytes calldata sellerSignature
    ) external;

    /// @notice The owner `seller` offers `vin` to `buyer` with the vehicle's current inspection
    /// `inspectionId` (younger than 120 days); the offer gets id `offerCount + 1` and replaces any open
    /// offer. Signed by `seller` as `OfferSale(bytes32 vin,uint32 offerId,address seller,address buyer,
    /// uint256 price,uint48 inspectionId,uint256 nonce,uint256 deadline)`.
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
    ) external;

    /// @notice `buyer` accepts open offer `offerId`, naming the inspection it was shown: ownership moves
    /// to the buyer. Refused when the inspection differs from the offer's, has expired or is no longer
    /// current, or while a lien or seizure is active. Signed by `buyer` as `AcceptSale(bytes32 vin,
    /// uint32 offerId,address seller,address buyer,uint256 price,uint48 inspectionId,uint256 deadline)`.
    function acceptSale(
        bytes32 vin,
        uint32 offerId,
        address seller,
        address buyer,
        uint256 price,
        uint48 inspectionId,
        uint256 deadline,
        bytes calldata signature
    ) external;

    // ---------------------------------------------------------------- views

    /// @notice Vehicle `vin` (all zero when unknown).
    function vehicleOf(bytes32 vin) external view returns (Vehicle memory);

    /// @notice The open offer of `vin`: its id and inspection (0, 0 when none is open).
    function openOfferOf(bytes32 vin) external view returns (uint32 offerId, uint48 inspectionId);

    /// @notice Number of inspections recorded (= the highest inspection id).
    function inspectionCount() external view returns (uint48);

    /// @notice The EIP-712 domain separator.
    function DOMAIN_SEPARATOR() external view returns (bytes32);
}

"""Citizen Card integrated authentication (서울시민카드 통합인증): the identity every area uses.

What other areas import:

- ``identity.deps``: ``CurrentCitizen`` / ``CurrentAgency`` (FastAPI ``Annotated`` dependencies
  that read ``Authorization: Bearer <token>`` and re-check the chain on every request),
  ``require_role(contract, role)`` for a specific agency role, ``CityAdmin``;
- ``identity.service``: ``eligibility(platform, address)`` (citizen id, active, district, birth
  year in one call), ``citizen_by_address`` / ``citizen_by_id``;
- ``identity.districts``: ``DISTRICTS`` (codes 1..25 of Seoul's autonomous districts),
  ``district(code_or_name)``, ``age_band(birth_year)``;
- ``identity.keys``: local keystores (create, resolve by name or path, load, list); the command
  line side (``--as``, passwords, the API client, sign-in) is ``civic_ledger.clikit``.
"""

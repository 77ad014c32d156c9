"""The API for order-comms and RIS systems: the entitlement check (`/api/v1/`), FHIR R4
PractitionerRole (`/api/fhir/`), their per-client Bearer tokens and rate limits.

See docs/api.md. Views here only parse, call selectors and services, and shape answers.
"""

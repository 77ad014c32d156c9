"""The entitlement check's parameters: `quick_validated` (the API's fast path for a plainly
valid question) never disagrees with `EntitlementCheckQuery`, the serializer that decides
everything else and words the errors.

Whatever the parameters, the fast path either steps aside (None) or gives exactly the
serializer's validated data; and the questions RIS systems really send take the fast path.
"""

from django.http import QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entitlements.api.serializers import EntitlementCheckQuery, quick_validated

TYPICAL = {
    "registration": "NMC:71A2998E",
    "examination": "XCHES",
    "employer": "RDZ",
    "patient_age": "40",
    "setting": "ED",
}


def serializer_says(params) -> dict | None:
    query = EntitlementCheckQuery(data=params)
    if not query.is_valid():
        return None
    return dict(query.validated_data)


def query_dict(params: dict) -> QueryDict:
    query = QueryDict(mutable=True)
    for name, value in params.items():
        for one in value if isinstance(value, list) else [value]:
            query.appendlist(name, one)
    return query


def agree(params: dict) -> dict | None:
    query = query_dict(params)
    quick = quick_validated(query)
    if quick is not None:
        assert quick == serializer_says(query), params
    return quick


def test_the_questions_systems_send_take_the_fast_path():
    assert agree(TYPICAL) == {
        "registration": {"regulator": "NMC", "registration_number": "71A2998E"},
        "examination": "XCHES",
        "employer": "RDZ",
        "patient_age": 40,
        "setting": "ED",
    }
    for changed in (
        {"registration": " nmc : 71a 2998e "},
        {"registration": "GMC:1234567", "setting": " outpatient "},
        {"examination": " xches ", "employer": "rdz ", "patient_age": "0"},
        {"patient_age": "130", "setting": "miu", "extra": "ignored"},
        {"setting": ["COMMUNITY", "ED"]},  # the last of a repeated parameter, as DRF reads it
    ):
        assert agree({**TYPICAL, **changed}) is not None, changed


def test_anything_unusual_is_left_to_the_serializer():
    for changed in (
        {"registration": None},
        {"registration": "NMC71A2998E"},
        {"registration": "XYZ:71A2998E"},
        {"registration": "NMC:1"},
        {"registration": "NMC:" + "1" * 30},
        {"examination": "X CHES"},
        {"examination": ""},
        {"employer": "R"},
        {"employer": "RDZ\x00"},
        {"patient_age": "-1"},
        {"patient_age": "131"},
        {"patient_age": "40.0"},  # DRF allows it; the fast path need not
        {"patient_age": " 40"},
        {"setting": "COTTAGE"},
        {"as_of": "2026-01-01"},
        {"as_of": ""},
    ):
        params = {**TYPICAL, **changed}
        params = {name: value for name, value in params.items() if value is not None}
        assert agree(params) is None, changed


REGISTRATIONS = ["NMC:71A2998E", "nmc: 71a2998e", "GMC:1234567", "HCPC:PA12345", "GPhC:2012345"]
text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            *REGISTRATIONS,
            "XCHES",
            " xches",
            "RDZ",
            "rdz",
            "ED",
            "ed ",
            "MIU",
            "40",
            "130",
            "131",
            "007",
            "4\u0660",
            "\u00df" * 9,
            "\ud800",
            "",
            " ",
        ]
    ),
)
value = st.one_of(text, st.lists(text, min_size=1, max_size=3))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.fixed_dictionaries({}, optional=dict.fromkeys(TYPICAL, value)),
    typical=st.sets(st.sampled_from(sorted(TYPICAL))),
    as_of=st.one_of(st.none(), text),
)
def test_the_fast_path_never_disagrees_with_the_serializer(base, typical, as_of):
    params = {**base, **{name: TYPICAL[name] for name in typical}}
    if as_of is not None:
        params["as_of"] = as_of
    agree(params)

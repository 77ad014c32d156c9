"""Clinical safety (hazard H3 of docs/clinical-safety/hazard-log.md): a letter never states a
wider scope than was granted. Whatever a delegate's narrower grant keeps or tightens, the
letter lists exactly the granted scope items with the granted conditions, each within what
was asked for; a refused narrowing grants nothing and issues no letter."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entitlements import services
from entitlements.models import Entitlement, Letter
from entitlements.models.scope import SETTING_ORDER
from entitlements.services.decisions import ItemDecision

EXAMPLES = 25


def item_decisions(item):
    """Anything a delegate could submit for one requested item: mostly a genuine narrowing,
    sometimes a widening or nonsense (which must be refused)."""
    asked_settings = list(item.settings)
    return st.builds(
        ItemDecision,
        item_id=st.just(item.pk),
        include=st.booleans(),
        age_min=st.one_of(
            st.integers(min_value=item.age_min, max_value=item.age_min + 40),
            st.integers(min_value=-5, max_value=130),
        ),
        age_max=st.one_of(
            st.just(item.age_max),
            st.integers(min_value=item.age_min + 41, max_value=120),
            st.none(),
            st.integers(min_value=-5, max_value=130),
        ),
        settings=st.one_of(
            st.lists(st.sampled_from(asked_settings), min_size=1, unique=True),
            st.lists(st.sampled_from([*SETTING_ORDER, "ICU"]), unique=True, max_size=4),
        ).map(tuple),
        clinical_indications=st.one_of(st.just(item.clinical_indications), st.text(max_size=50)),
        exclusions=st.one_of(st.just(item.exclusions), st.text(max_size=50)),
    )


@pytest.mark.django_db
def test_a_narrower_grant_letter_states_exactly_the_granted_scope_and_never_more(
    endorsed_application, delegate
):
    requested = list(endorsed_application.scope_items.order_by("id"))
    by_name = {item.subject_label: item for item in requested}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(decisions=st.tuples(*(item_decisions(item) for item in requested)))
    def narrowing(decisions):
        with transaction.atomic():
            try:
                decision = services.application_decide(
                    application=endorsed_application,
                    by=delegate,
                    outcome="granted_narrower",
                    rationale="Within the ED protocol.",
                    items=list(decisions),
                    narrowing_reasons="Plain film first.",
                )
            except ValidationError:
                # Refused: nothing granted, no letter.
                assert not Entitlement.objects.filter(application=endorsed_application).exists()
                assert not Letter.objects.exists()
                transaction.set_rollback(True)
                return
            entitlement = decision.entitlement
            granted = list(entitlement.scope_items.order_by("id"))
            letter = Letter.objects.get(entitlement=entitlement)
            stated = letter.content["scope"]

            # The letter states each granted item, and only those.
            assert [row["name"] for row in stated] == [i.examination.name for i in granted]
            kept = [d for d in decisions if d.include]
            assert len(granted) == len(kept) >= 1
            for row, item in zip(stated, granted, strict=True):
                asked = by_name[item.subject_label]
                # ...with the granted conditions, each within what was asked for.
                assert row["age_range"] == item.age_range_label
                assert row["settings"] == item.settings_label
                assert row["exclusions"] == item.exclusions
                assert item.age_min >= asked.age_min
                if asked.age_max is not None:
                    assert item.age_max is not None and item.age_max <= asked.age_max
                assert set(item.settings) <= set(asked.settings)
            left_out = {i.examination.name for i in requested} - {r["name"] for r in stated}
            assert left_out == {
                by_name[i.subject_label].examination.name
                for i, d in zip(requested, decisions, strict=True)
                if not d.include
            }
            transaction.set_rollback(True)

    narrowing()

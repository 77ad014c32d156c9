"""The verification code a reader of a printed letter types in to check it."""

import re

from django import forms

from ..models.letters import CODE_ALPHABET

EXAMPLE = "7KQM-3XTP-9HRW"
_FORMAT = re.compile(f"[{CODE_ALPHABET}]{{12}}")


class LetterVerifyForm(forms.Form):
    code = forms.CharField(
        label="Verification code",
        help_text=f"It is printed at the foot of every page of the letter, like {EXAMPLE}",
        max_length=40,
        error_messages={
            "required": "Enter the verification code from the letter",
            "max_length": f"Enter the verification code as it is printed, like {EXAMPLE}",
        },
    )

    def clean_code(self) -> str:
        """The code as XXXX-XXXX-XXXX, whatever spaces, hyphens or case it was typed with."""
        raw = re.sub(r"[\s\-]", "", self.cleaned_data["code"]).upper()
        if not re.fullmatch(r"[A-Z0-9]{12}", raw):
            raise forms.ValidationError(
                f"Enter the verification code as it is printed, like {EXAMPLE}: 12 letters "
                "and numbers",
                code="invalid",
            )
        if not _FORMAT.fullmatch(raw):
            raise forms.ValidationError(
                "Check the verification code: it never contains the letters I, L, O or U, "
                "or the numbers 0 or 1",
                code="invalid",
            )
        return "-".join(raw[i : i + 4] for i in range(0, 12, 4))

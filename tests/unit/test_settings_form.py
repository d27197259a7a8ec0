"""The Settings panel's handlers, without a browser: errors keyed by field, the preset shown, the theme kept."""

import json
from dataclasses import replace

import pytest

from chatdesk.config import Settings
from chatdesk.core.host import ModelHost
from chatdesk.ui.settings_form import NUMBERS, FormHandlers
from chatdesk.ui.settings_panel import PanelHandlers
from tests.unit.fake_engine import ScriptedEngine


@pytest.fixture
def form(private_home):
    host = ModelHost(ScriptedEngine(), Settings())
    return FormHandlers(host, PanelHandlers(host).switch)


def fields(settings: Settings) -> list:
    return [settings.system_prompt, *(getattr(settings, name) for name in NUMBERS)]


def test_a_refused_save_names_each_field_for_the_page_and_changes_nothing(form):
    with pytest.warns(UserWarning, match="2 settings could not be saved"):
        [answer] = list(form.save(*fields(replace(Settings(), top_p=1.5, context_length=None))))
    errors = json.loads(answer[3])["fields"]
    assert set(errors) == {"setting-top-p", "context-length"} and "Top-p" in errors["setting-top-p"]
    assert answer[5] == "Not saved: see the marked fields."
    assert form.host.settings == Settings()


def test_a_save_clears_the_marks_and_shows_the_preset_it_matches(form):
    answers = list(form.save(*fields(replace(Settings(), temperature=0.2, top_p=0.9, top_k=20, min_p=0.1))))
    assert json.loads(answers[0][3])["fields"] == {} and answers[0][4] == "Precise"
    assert answers[-1][0].startswith("Settings saved.") and answers[-1][5] == answers[-1][0]
    assert form.host.settings.temperature == 0.2


def test_the_theme_picked_is_kept_with_the_other_settings(form):
    form.set_theme("dark")
    list(form.save(*fields(replace(Settings(), temperature=0.5))))
    assert form.host.settings.theme == "dark" and form.shown()[-1] == "dark"
    assert form.shown()[0]["value"] == "Custom"

"""siamese/search/study.py: a study kept in SQLite under the runs folder, a journal file or a database
server; joined by name with its own plan; refused, with the URL's password hidden, when its storage cannot
be reached or refuses the login, or when it is opened for another space or objective."""

from __future__ import annotations

import socket

import optuna
import pytest

from siamese.errors import SearchError
from siamese.search.space import parse_dimension, space_from_json
from siamese.search.study import (Plan, check_plan, joined_plan, open_storage, open_study, shown, storage_url,
                                  study_exists)


def plan_of(config, objective="val_auc", space=None):
    return Plan(config, space or {"lr": parse_dimension("lr=log:0.001:0.01")}, objective)


def test_the_default_storage_is_one_sqlite_file_under_the_runs_folder(tmp_path, tiny):
    url = storage_url(None, tmp_path / "runs")
    assert url == f"sqlite:///{(tmp_path / 'runs' / 'search.db').resolve()}"
    open_study("a", url, plan_of(tiny()))
    open_study("b", url, plan_of(tiny()))
    assert (tmp_path / "runs" / "search.db").is_file() and study_exists("a", url) and study_exists("b", url)


def test_a_joining_worker_gets_the_studys_own_plan(tmp_path, tiny):
    url = storage_url(None, tmp_path)
    made = plan_of(tiny(lr=0.002, epochs=4), "val_eer")
    study, _ = open_study("s", url, made)
    joined, plan = open_study("s", url)
    assert (plan.base, plan.objective, plan.space) == (made.base, "val_eer", made.space)
    assert joined.direction == optuna.study.StudyDirection.MINIMIZE
    assert joined_plan(plan, {"data": "/elsewhere/faces"}).base.data == "/elsewhere/faces"
    with pytest.raises(SearchError, match="this study fixes epochs=4"):
        joined_plan(plan, {"epochs": 9})


def test_a_journal_file_holds_a_study_too(tmp_path, tiny):
    url = str(tmp_path / "study.journal")
    open_study("j", url, plan_of(tiny()))
    assert open_study("j", url)[1].objective == "val_auc"


@pytest.mark.parametrize("change, message", [
    (dict(space="lr=log:0.001:0.1"), r'it searches \{"lr": \{"log": \[0.001, 0.01\]\}\}, not'),
    (dict(objective="oneshot"), "its objective is val_auc, not oneshot"),
    (dict(epochs=7), "its trials fix epochs=3"),
])
def test_an_existing_study_opened_for_another_space_or_objective_is_refused(tmp_path, tiny, change, message):
    url = storage_url(None, tmp_path)
    open_study("s", url, plan_of(tiny()))
    space = {"lr": parse_dimension(change.get("space", "lr=log:0.001:0.01"))}
    with pytest.raises(SearchError, match=f"study 's' exists and {message}"):
        open_study("s", url, plan_of(tiny(epochs=change.get("epochs", 3)), change.get("objective", "val_auc"), space))


def test_joining_a_study_that_is_not_there_names_those_that_are(tmp_path, tiny):
    url = storage_url(None, tmp_path)
    open_study("here", url, plan_of(tiny()))
    with pytest.raises(SearchError, match="there is no study 'there' in sqlite:.*; studies there: here"):
        open_study("there", url)


def test_a_grid_takes_listed_values_and_the_plan_names_what_is_unknown(tiny):
    with pytest.raises(SearchError, match="a grid tries listed values: give lr as choice"):
        check_plan(Plan(tiny(), space_from_json({"lr": {"log": [0.001, 0.01]}}), sampler="grid"))
    with pytest.raises(SearchError, match="objective 'auc' is not one of"):
        check_plan(Plan(tiny(), space_from_json({"lr": {"log": [0.001, 0.01]}}), objective="auc"))
    with pytest.raises(SearchError, match="the space has nothing to search"):
        check_plan(Plan(tiny(), {}))


def test_an_unreachable_storage_is_named_without_its_password_and_nothing_starts(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    url = f"postgresql://me:hunter2@127.0.0.1:{port}/studies"
    with pytest.raises(SearchError) as caught:
        open_storage(url)
    message = str(caught.value)
    assert f"cannot open the study storage postgresql://me:***@127.0.0.1:{port}/studies" in message
    assert "hunter2" not in message and "Nothing was started" in message
    assert shown("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_a_database_that_refuses_the_login_is_named_without_the_password(postgres_url):
    wrong = postgres_url.replace(postgres_url.split(":")[2].split("@")[0], "not-the-password")
    with pytest.raises(SearchError) as caught:
        open_storage(wrong)
    message = str(caught.value)
    assert "postgresql://postgres:***@127.0.0.1" in message and "not-the-password" not in message
    assert "password authentication failed" in message


def test_a_study_lives_in_a_real_postgresql_server(postgres_url, tiny):
    open_study("pg", postgres_url, plan_of(tiny(), "oneshot"))
    assert open_study("pg", postgres_url)[1].objective == "oneshot"

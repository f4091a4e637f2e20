"""The services' one transaction helper: commit on success, roll back on any error,
never nested."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import InvalidRequestError

from app.extensions import db
from app.models import Area
from app.services.transaction import committed, transactional
from app.validation import InvalidValue


def _count(name: str) -> int:
    return db.session.scalar(select(func.count()).select_from(Area).where(Area.name == name))


def _add_district(name: str) -> Area:
    area = Area(name=name, level="district")
    db.session.add(area)
    db.session.flush()
    return area


def test_a_block_that_ends_normally_is_committed_though_the_session_had_begun(app):
    db.session.scalar(select(func.count()).select_from(Area))  # the session autobegins
    assert db.session().in_transaction()
    with pytest.raises(InvalidRequestError, match="already begun"):
        db.session.begin()  # why the services do not use ``with db.session.begin():``
    with committed():
        _add_district("测试区")
    db.session.rollback()  # nothing left to undo: the block committed
    assert _count("测试区") == 1


def test_a_refusal_rolls_back_everything_the_block_did(app):
    with pytest.raises(InvalidValue), committed():
        _add_district("测试区")
        raise InvalidValue("refused")
    assert _count("测试区") == 0
    # the next transaction starts clean
    with committed():
        _add_district("另一区")
    assert _count("另一区") == 1


def test_the_decorator_runs_the_whole_function_as_one_transaction(app):
    @transactional
    def add_then_refuse(name):
        """Adds, then refuses."""
        _add_district(name)
        raise InvalidValue("refused")

    assert add_then_refuse.__name__ == "add_then_refuse"
    assert add_then_refuse.__doc__ == "Adds, then refuses."
    with pytest.raises(InvalidValue):
        add_then_refuse("测试区")
    assert _count("测试区") == 0
    assert transactional(_add_district)("测试区").id is not None
    db.session.rollback()
    assert _count("测试区") == 1


def test_a_committing_block_refuses_to_run_inside_another(app):
    with pytest.raises(RuntimeError, match="inside committed"), committed():
        _add_district("测试区")
        with committed():
            pass
    assert _count("测试区") == 0
    with committed():  # the guard is lifted after the outer block ended
        pass

"""Background jobs (app/jobs.py): inline without Redis, on RQ with it."""

import uuid

import pytest

from app import jobs
from app.extensions import db
from app.models import Area
from tests.factories import make_district

REDIS_TEST_URL = "redis://127.0.0.1:6379/15"


def rename_area(area_id: int, name: str) -> None:
    """A job as jobs are written: plain values in, its own commit."""
    area = db.session.get(Area, area_id)
    area.name = name
    db.session.commit()


def _redis_reachable() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=0.5).ping()
    except Exception:
        return False
    return True


def test_without_redis_a_job_runs_inline_at_once(app):
    assert app.config["JOBS_INLINE"] and jobs.is_inline()
    area = make_district("旧名")
    db.session.commit()
    assert jobs.enqueue(rename_area, area.id, "新名", description="rename") is None
    db.session.expire_all()
    assert db.session.get(Area, area.id).name == "新名"


def test_no_redis_url_means_inline_even_when_jobs_inline_is_false(app):
    app.config.update(JOBS_INLINE=False, REDIS_URL=None)
    assert jobs.is_inline()


def test_a_job_must_be_a_module_level_function(app):
    def local_job(x):
        return x

    with pytest.raises(ValueError, match="module-level"):
        jobs.enqueue(local_job, 1)
    with pytest.raises(ValueError, match="module-level"):
        jobs.enqueue(lambda: None)


@pytest.mark.skipif(not _redis_reachable(), reason=f"no Redis at {REDIS_TEST_URL}")
def test_with_redis_a_job_waits_on_the_queue_until_a_worker_runs_it(app):
    from rq.job import Job, JobStatus

    queue_name = f"yijia-test-{uuid.uuid4().hex[:8]}"  # not another test run's jobs
    app.config.update(JOBS_INLINE=False, REDIS_URL=REDIS_TEST_URL, JOBS_QUEUE=queue_name)
    assert not jobs.is_inline()
    area = make_district("旧名")
    db.session.commit()
    queue = jobs.queue()
    try:
        job_id = jobs.enqueue(rename_area, area.id, "新名", description="rename a district")
        assert job_id is not None
        assert queue.job_ids == [job_id]
        db.session.expire_all()
        assert db.session.get(Area, area.id).name == "旧名"  # queued, not run

        assert jobs.worker_for(app, simple=True).work(burst=True)
        job = Job.fetch(job_id, connection=jobs.connection())
        assert job.get_status() == JobStatus.FINISHED, job.latest_result()
        assert job.description == "rename a district"
        db.session.expire_all()
        assert db.session.get(Area, area.id).name == "新名"
        assert queue.count == 0
    finally:
        queue.delete(delete_jobs=True)


@pytest.mark.skipif(not _redis_reachable(), reason=f"no Redis at {REDIS_TEST_URL}")
def test_a_failing_job_is_kept_as_failed(app):
    from rq.job import Job, JobStatus

    queue_name = f"yijia-test-{uuid.uuid4().hex[:8]}"
    app.config.update(JOBS_INLINE=False, REDIS_URL=REDIS_TEST_URL, JOBS_QUEUE=queue_name)
    queue = jobs.queue()
    try:
        job_id = jobs.enqueue(rename_area, 999999, "无此地")
        jobs.worker_for(app, simple=True).work(burst=True)
        assert Job.fetch(job_id, connection=jobs.connection()).get_status() == JobStatus.FAILED
    finally:
        queue.delete(delete_jobs=True)


def test_the_worker_command_needs_redis(app):
    result = app.test_cli_runner().invoke(args=["jobs-worker", "--burst"])
    assert result.exit_code != 0
    assert "REDIS_URL is not set" in result.output

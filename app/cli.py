"""Command-line tasks: ``flask seed-demo``, ``flask create-user``, ``flask reset-password``,
``flask unlock-user``, ``flask deactivate-user``, ``flask case-status``, ``flask archive``,
``flask todo``, ``flask audit-retention``, ``flask sweep-files``, ``flask storage-check``."""

import click
from flask import Flask

from app.extensions import db
from app.validation import InvalidValue


def register_cli(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--households", default=100, show_default=True, help="households to create")
    def seed_demo_command(households: int):
        """Fill the database with the fictitious demo district (idempotent).
        Refused in production: the demo accounts' password is published."""
        import os

        if app.config.get("IS_PRODUCTION") or os.environ.get("YIJIA_ENV") == "production":
            raise click.ClickException(
                "seed-demo is refused in production (YIJIA_ENV=production): the demo "
                "accounts have a published password. Use create-user instead."
            )
        from app.demo import DEMO_PASSWORD, seed_demo

        created = seed_demo(households)
        click.echo(f"demo data ready; created: {created}")
        click.echo(
            f"demo accounts: admin, manager, chengdong, worker, sponsor (password {DEMO_PASSWORD})"
        )

    @app.cli.command("add-area")
    @click.option("--name", required=True)
    @click.option("--level", required=True, type=click.Choice(["district", "street", "community"]))
    @click.option("--parent", "parent_name", help="the district (for a street) or street")
    def add_area_command(name, level, parent_name):
        """Add the district, a street or a community (first set-up of a deployment)."""
        from app.services.users import add_area

        try:
            area = add_area(name=name, level=level, parent_name=parent_name)
        except InvalidValue as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        click.echo(f"added {area.level} {area.name}")

    @app.cli.command("create-user")
    @click.option("--username", required=True)
    @click.option("--full-name", required=True)
    @click.option(
        "--role",
        required=True,
        type=click.Choice(
            ["district_admin", "district_manager", "street_clerk", "community_worker", "sponsor"]
        ),
    )
    @click.option("--area", "area_name", help="area name (district, street or community)")
    @click.option("--organisation", "organisation_name", help="organisation, for sponsors")
    @click.option(
        "--must-change/--no-must-change",
        default=False,
        help="the user must change the password at the first login",
    )
    @click.password_option()
    def create_user_command(
        username, full_name, role, area_name, organisation_name, must_change, password
    ):
        """Create a login account, e.g. the first district administrator (same rules
        as the panel: password policy, an area that fits the role)."""
        from app.services.users import create_user

        try:
            user = create_user(
                username=username,
                full_name=full_name,
                role=role,
                area_name=area_name,
                organisation_name=organisation_name,
                password=password,
                must_change_password=must_change,
            )
        except InvalidValue as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        click.echo(f"created user {user.username} ({user.role})")

    def _user_named(username: str):
        from sqlalchemy import select

        from app.models import User

        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException("no such user")
        return user

    @app.cli.command("reset-password")
    @click.option("--username", required=True)
    @click.password_option()
    def reset_password_command(username, password):
        """Give an account a new initial password (to be changed at the next login);
        unlocks it and ends its sessions."""
        from app.services.users import reset_password

        user = _user_named(username)
        try:
            reset_password(user, password)
            db.session.commit()
        except InvalidValue as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        click.echo(f"new initial password set for {user.username}; it must be changed at login")

    @app.cli.command("unlock-user")
    @click.option("--username", required=True)
    def unlock_user_command(username):
        """Lift the lock that too many failed logins put on an account."""
        from app.services.users import unlock

        user = _user_named(username)
        unlock(user)
        db.session.commit()
        click.echo(f"unlocked {user.username}")

    @app.cli.command("deactivate-user")
    @click.option("--username", required=True)
    def deactivate_user_command(username):
        """Deactivate an account (it is kept, never deleted); its sessions end."""
        from app.services.users import deactivate

        user = _user_named(username)
        deactivate(user)
        db.session.commit()
        click.echo(f"deactivated {user.username}")

    @app.cli.command("sweep-files")
    @click.option("--dry-run", is_flag=True, help="list, do not delete")
    @click.option(
        "--older-than",
        default=60,
        show_default=True,
        type=click.IntRange(min=0),
        help="minutes: younger files may be uploads whose record is still being saved",
    )
    def sweep_files_command(dry_run: bool, older_than: int):
        """Remove evidence files that no database row names (in UPLOAD_FOLDER, or in
        the bucket when STORAGE_URL is set), written more than --older-than minutes ago."""
        import datetime as dt

        from app.services.files import sweep_orphans

        orphans = sweep_orphans(dry_run=dry_run, older_than=dt.timedelta(minutes=older_than))
        click.echo(f"{'found' if dry_run else 'removed'} {len(orphans)} orphan file(s)")

    @app.cli.command("storage-check")
    def storage_check_command():
        """Write, read back and delete a probe object in the evidence storage (the
        bucket of STORAGE_URL, else UPLOAD_FOLDER): a deploy check; fails loudly."""
        from app.services.storage import StorageError, check, storage

        store = storage()
        try:
            took = check(store)
        except (StorageError, OSError) as exc:
            raise click.ClickException(f"storage check failed: {exc}") from None
        steps = ", ".join(f"{step} {ms:.0f} ms" for step, ms in took.items())
        click.echo(f"storage ok: {store.description} ({steps})")

    @app.cli.command("case-status")
    @click.argument("household_id", type=int)
    @click.argument("to_status")
    @click.option("--user", "username", required=True, help="who makes the move")
    @click.option("--note", default="", help="why (required to close or reopen)")
    def case_status_command(household_id, to_status, username, note):
        """Move a case to another status, recorded like a move made in the panel."""
        from sqlalchemy import select

        from app.models import Household, User
        from app.services.casework import transition_case

        user = db.session.scalar(select(User).where(User.username == username))
        household = db.session.get(Household, household_id)
        if user is None or household is None:
            raise click.ClickException("no such user or household")
        try:
            transition_case(household, to_status, user=user, note=note)
            db.session.commit()
        except InvalidValue as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        click.echo(f"household {household.id}: {household.status}")

    def _archivable(model_name: str, record_id: int, username: str):
        from app.services.archive import ARCHIVABLE

        record = db.session.get(ARCHIVABLE[model_name], record_id)
        if record is None:
            raise click.ClickException(f"no {model_name} {record_id}")
        return record, _user_named(username)

    model_choice = click.Choice(
        ["household", "member", "need", "resource", "project", "organisation"]
    )

    @app.cli.command("archive")
    @click.argument("model_name", metavar="MODEL", type=model_choice)
    @click.argument("record_id", metavar="ID", type=int)
    @click.option("--user", "username", required=True, help="who archives it")
    @click.option("--reason", default="", help="why (required to archive; kept with it)")
    @click.option("--restore", is_flag=True, help="restore it instead (district admin)")
    @click.option(
        "--delete", "hard", is_flag=True, help="delete it as a mistake (admin, no history)"
    )
    def archive_command(model_name, record_id, username, reason, restore, hard):
        """Archive a record (the same rule as the panel's 归档); --restore brings it
        back, --delete removes a record entered by mistake that has no history."""
        from app.services import archive

        record, user = _archivable(model_name, record_id, username)
        try:
            if hard:
                archive.hard_delete(record, user)
            elif restore:
                archive.restore(record, user)
            else:
                archive.archive(record, user, reason)
        except InvalidValue as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        done = "deleted" if hard else "restored" if restore else "archived"
        click.echo(f"{model_name} {record_id}: {done}")

    @app.cli.command("todo")
    @click.option("--user", "username", required=True)
    @click.option("--mine", is_flag=True, help="only households assigned to the user")
    def todo_command(username, mine):
        """List a user's to-do items (overdue first), e.g. for a daily reminder."""
        from sqlalchemy import select

        from app.models import User
        from app.services.todo import todo_items

        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException("no such user")
        for item in todo_items(user, only_mine=mine):
            late = f" overdue {item.days_overdue}d" if item.is_overdue else ""
            click.echo(f"{item.due_on} {item.kind}{late} #{item.household_id} {item.title}")

    @app.cli.command("fund-check")
    def fund_check_command():
        """Check that the special fund's balance equals the sum of its ledger."""
        from app.services.fund import check_balance

        held, summed = check_balance()
        click.echo(f"balance {held}; ledger sum {summed}")
        if held != summed:
            raise click.ClickException("the balance and the ledger differ")

    @app.cli.command("jobs-worker")
    @click.option("--burst", is_flag=True, help="stop when the queue is empty")
    def jobs_worker_command(burst: bool):
        """Run background jobs (Excel imports) from the RQ queue ``yijia`` on REDIS_URL,
        each inside an app context of this app."""
        from app.jobs import worker_for

        if not app.config.get("REDIS_URL"):
            raise click.ClickException("REDIS_URL is not set: jobs run inline, no worker needed")
        worker = worker_for(app)
        click.echo(f"worker on queue {worker.queue_names()[0]}")
        worker.work(burst=burst)

    @app.cli.command("audit-retention")
    @click.option(
        "--purge", is_flag=True, help="export the events past the retention, then delete them"
    )
    @click.option("--confirm", is_flag=True, help="required with --purge: yes, really")
    @click.option("--out", "out_path", type=click.Path(dir_okay=False), help="file to export to")
    @click.option("--user", "username", help="who runs the purge (recorded with it)")
    def audit_retention_command(purge, confirm, out_path, username):
        """Report the audit events older than AUDIT_RETENTION_DAYS (default: kept for
        ever). Only with --purge --confirm are they exported to a file (JSON lines,
        with its SHA-256) and then deleted, recorded as an audit purge; never silently."""
        from pathlib import Path

        from app.models import User
        from app.models.base import utcnow
        from app.services import audit

        report = audit.retention_report()
        if report.days is None:
            click.echo("AUDIT_RETENTION_DAYS is not set: the audit trail is kept for ever.")
            if purge:
                raise click.ClickException("nothing to purge without a retention")
            return
        click.echo(
            f"retention {report.days} days: {report.rows} events occurred before "
            f"{report.before:%Y-%m-%d %H:%M} UTC"
            + (f" (oldest {report.oldest:%Y-%m-%d})" if report.oldest else "")
        )
        for action, rows in sorted(report.by_action.items()):
            click.echo(f"  {action}: {rows}")
        if not purge:
            if report.rows:
                click.echo(
                    "nothing was deleted; --purge --confirm exports them to a file, then deletes them"
                )
            return
        if not confirm:
            raise click.ClickException("--purge deletes audit events: add --confirm to do it")
        user = None
        if username:
            user = db.session.scalars(db.select(User).where(User.username == username)).first()
            if user is None:
                raise click.ClickException("no such user")
        path = Path(
            out_path or Path(app.instance_path) / f"audit-purge-{utcnow():%Y%m%d-%H%M%S}.jsonl"
        )
        try:
            done = audit.purge_past_retention(path, user=user)
        except (InvalidValue, FileExistsError) as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        click.echo(
            f"purge #{done.id}: {done.rows} events exported to {done.file_name} "
            f"(sha256 {done.sha256}) and deleted"
        )

    @app.cli.command("monthly-report")
    @click.option("--month", help="YYYY-MM (default: last month), e.g. 2026-11")
    @click.option("--street", "streets", multiple=True, help="a street's name (repeatable)")
    @click.option("--all-streets", is_flag=True, help="the district and every street")
    def monthly_report_command(month, streets, all_streets):
        """Make the monthly report (XLSX and PDF) of the district, or of the named
        streets, for the bureau; for cron on the first of the month. With REDIS_URL set
        the reports are queued for the worker (flask jobs-worker), else made now."""
        import datetime as dt

        from app.services import reports

        try:
            first = reports.parse_month(month) if month else reports.previous_month(dt.date.today())
            made = reports.generate_for_cron(first, list(streets), all_streets=all_streets)
        except InvalidValue as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        failed = False
        for report in made:
            db.session.refresh(report)
            area = report.street.name if report.street is not None else "district"
            click.echo(f"report #{report.id} {report.month:%Y-%m} {area}: {report.status}")
            failed = failed or report.status == "failed"
        if failed:
            raise click.ClickException("a report failed; see the log for its reference")

    @app.cli.command("dashboard-refresh")
    @click.option("--since", help="YYYY-MM-DD: recompute from this day (default: every day)")
    @click.option("--until", help="YYYY-MM-DD: up to this day (default: yesterday)")
    @click.option("--queue", is_flag=True, help="queue it as a job (flask jobs-worker runs it)")
    def dashboard_refresh_command(since, until, queue):
        """Refresh the dashboard's summary table (数据看板汇总), for cron (nightly): the
        days from --since to --until and the households' and needs' counts now."""
        import datetime as dt

        from app.services.dashboard import summary

        try:
            day_from = dt.date.fromisoformat(since) if since else None
            day_to = dt.date.fromisoformat(until) if until else None
        except ValueError:
            raise click.ClickException("dates are YYYY-MM-DD, e.g. 2026-11-01") from None
        if queue:
            click.echo(f"queued job {summary.enqueue_refresh(day_from, day_to)}")
            return
        done = summary.refresh(day_from, day_to, source="flask dashboard-refresh")
        click.echo(
            f"refresh #{done.id}: days {done.day_from} to {done.day_to} recomputed, "
            f"summary covers {done.covered_from} to {done.covered_to}, "
            f"{done.rows} rows in {done.seconds:.1f} s"
        )

    # audit trail: every command's writes are recorded as done by it (and its --user)
    for command in app.cli.commands.values():
        _audited(command)


def _audited(command: click.Command) -> None:
    """Run ``command`` inside the audit context: ``flask <name>``, acting as the
    user its ``--user`` option names (when it has one; ``--username`` of create-user
    and reset-password names the account acted on, not who acts)."""
    import functools

    from app.models.audit import command_context

    callback = command.callback
    acting = next((p.name for p in command.params if "--user" in getattr(p, "opts", ())), None)

    @functools.wraps(callback)
    def run(*args, **kwargs):
        with command_context(command.name, kwargs.get(acting) if acting else None):
            return callback(*args, **kwargs)

    command.callback = run

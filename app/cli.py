"""Command-line tasks: ``flask seed-demo``, ``flask create-user``."""

import click
from flask import Flask

from app.extensions import db
from app.validation import InvalidValue


def register_cli(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--households", default=100, show_default=True, help="households to create")
    def seed_demo_command(households: int):
        """Fill the database with the fictitious demo district (idempotent)."""
        from app.services.demo import DEMO_PASSWORD, seed_demo

        created = seed_demo(households)
        click.echo(f"demo data ready; created: {created}")
        click.echo(f"demo accounts: admin, manager, chengdong, worker, sponsor "
                   f"(password {DEMO_PASSWORD})")

    @app.cli.command("create-user")
    @click.option("--username", required=True)
    @click.option("--full-name", required=True)
    @click.option("--role", required=True, type=click.Choice(
        ["district_admin", "district_manager", "street_clerk", "community_worker", "sponsor"]))
    @click.option("--area", "area_name", help="area name (district, street or community)")
    @click.option("--organisation", "organisation_name", help="organisation, for sponsors")
    @click.password_option()
    def create_user_command(username, full_name, role, area_name, organisation_name, password):
        """Create a login account, e.g. the first district administrator."""
        from app.services.users import create_user

        try:
            user = create_user(username=username, full_name=full_name, role=role,
                               area_name=area_name, organisation_name=organisation_name,
                               password=password)
        except InvalidValue as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        click.echo(f"created user {user.username} ({user.role})")


"""Reference data that the district administrator edits."""

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import TrackedMixin


class HardshipCategory(TrackedMixin, db.Model):
    """低保, 特困, 低保边缘, 支出型贫困, 残疾, 大病, 独居老人, …"""

    __tablename__ = "hardship_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __str__(self) -> str:
        return self.name

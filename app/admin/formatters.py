"""Column formatters shared by admin views (Flask-Admin's ``column_formatters``)."""


def yuan(_view, _context, model, name) -> str:
    """An amount as 1,234.50."""
    value = getattr(model, name)
    return "" if value is None else f"{value:,.2f}"


def month(_view, _context, model, name) -> str:
    value = getattr(model, name)
    return f"{value:%Y-%m}" if value else ""


def minute(_view, _context, model, name) -> str:
    """A moment to the minute: 2026-11-28 14:05."""
    value = getattr(model, name)
    return f"{value:%Y-%m-%d %H:%M}" if value else ""


def tick(_view, _context, model, name) -> str:
    return "✓" if getattr(model, name) else "—"

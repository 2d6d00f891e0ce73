"""Load scripts: they start the API, drive it, and print figures. They assert nothing."""

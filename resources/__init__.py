"""Icons, stylesheets and the .desktop file: data only, read through importlib.resources."""

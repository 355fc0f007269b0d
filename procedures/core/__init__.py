"""The framework every area stands on: database, sign-in, languages, errors, headers, templating."""

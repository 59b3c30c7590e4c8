"""Runs seed_api calls read from stdin as JSON ([[function, args, kwargs], ...]) and prints their results as JSON."""

import json
import sys

import seed_api

results = []
for name, args, kwargs in json.load(sys.stdin):
    results.append(getattr(seed_api, name)(*args, **kwargs))
json.dump(results, sys.stdout)

#!/usr/bin/python3
"""A CGI script that prints its environment as JSON."""
import json
import os

print("Content-Type: application/json")
print()
print(json.dumps(dict(os.environ), sort_keys=True))

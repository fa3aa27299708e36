"""Config text for the tests that parse settings: the two remotes as the smallest file has them."""

REMOTES = """
[planfix]
url = "http://127.0.0.1:8701/xml/"
account = "demo"
api_key = "demo-key"
token = "demo-token"

[planningpme]
url = "http://127.0.0.1:8702"
brand = "demo"
app_key = "demo-appkey"
username = "demo"
password = "demo"
"""
"""``[planfix]`` and ``[planningpme]`` with the demo credentials; a test adds the sections it is about."""

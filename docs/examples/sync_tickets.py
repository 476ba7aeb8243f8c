"""Keep a local copy of the PSA's tickets in step, incrementally: each run fetches only the
tickets changed since the last run (`updated_since`), following the cursor pages to the end.

    PSA_URL=https://psa.example.com PSA_TOKEN=psa_... python sync_tickets.py tickets.json

Standard library only. The copy is a JSON file of tickets by id plus the watermark (the
latest `updated_at` seen). The next run asks for changes since the watermark less a minute:
a ticket written by a transaction that committed a little after it started can carry an
`updated_at` slightly older than one already seen, and the overlap catches it; tickets seen
twice are simply stored again. A 429 is waited out (Retry-After); X-RateLimit-Remaining
tells you how close you are before that.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta

OVERLAP = timedelta(minutes=1)


def fetch(url: str, token: str) -> dict:
    if urllib.parse.urlsplit(url).scheme not in ("https", "http"):
        raise ValueError(f"Not a web address: {url}")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
    )
    while True:
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return json.load(response)
        except urllib.error.HTTPError as error:
            if error.code != 429:
                raise
            time.sleep(int(error.headers.get("Retry-After", "5")))


def sync(base_url: str, token: str, copy: dict) -> int:
    """Bring `copy` ({"watermark": iso or None, "tickets": {id: ticket}}) up to date; returns
    how many tickets were fetched."""
    query = {"page_size": "200"}
    if copy.get("watermark"):
        since = datetime.fromisoformat(copy["watermark"]) - OVERLAP
        query["updated_since"] = since.isoformat()
    url = f"{base_url.rstrip('/')}/api/v1/tickets/?{urllib.parse.urlencode(query)}"
    fetched = 0
    while url:
        page = fetch(url, token)
        for ticket in page["results"]:
            copy["tickets"][str(ticket["id"])] = ticket
            if copy.get("watermark") is None or ticket["updated_at"] > copy["watermark"]:
                copy["watermark"] = ticket["updated_at"]
            fetched += 1
        url = page.get("next")
    return fetched


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "tickets.json"
    copy = {"watermark": None, "tickets": {}}
    if os.path.exists(path):
        with open(path) as stored:
            copy = json.load(stored)
    fetched = sync(os.environ["PSA_URL"], os.environ["PSA_TOKEN"], copy)
    with open(path, "w") as stored:
        json.dump(copy, stored)
    print(f"{fetched} tickets fetched; {len(copy['tickets'])} in the copy")


if __name__ == "__main__":
    main()

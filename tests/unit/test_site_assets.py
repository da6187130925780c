"""Data Docs pages rewritten to load nothing remote (``spark_jobs/report/site_assets.py``)."""

from __future__ import annotations

import re
from pathlib import Path

import great_expectations

from spark_jobs.report.site_assets import FILES, LOCAL_LOGO, VENDOR, offline_page

TEMPLATES = Path(great_expectations.__file__).parent / "render" / "view" / "templates"
LOADS = re.compile(r"""<(?:script|link)[^>]*\s(?:src|href)=["'](https?://[^"'{]+)""")


def test_every_cdn_file_of_the_pinned_gx_templates_is_vendored() -> None:
    """A GX upgrade that loads another CDN file fails here, naming it."""
    loaded = {url for template in TEMPLATES.glob("*.j2") for url in LOADS.findall(template.read_text())}
    assert loaded, "no CDN URL found: GX's templates moved"
    vendored = {url for f in FILES for url in f.cdn}
    assert loaded <= vendored, sorted(loaded - vendored)


def test_a_page_loads_the_vendored_files_by_a_path_relative_to_its_depth() -> None:
    page = (
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>'
        '<script src="https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js" '
        'integrity="sha384-JjSm" crossorigin="anonymous"></script>'
        '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=1&dataContextId=x"/>'
        "<footer>\n  <p>Stay current on everything GX with our newsletter <a href='x'>Subscribe</a></p>\n</footer>"
    )
    offline = offline_page(page, 4)
    assert f'href="../../../../{VENDOR}/bootstrap.min.css"' in offline
    assert f'<script src="../../../../{VENDOR}/bootstrap.min.js"></script>' in offline  # no CDN integrity pin
    assert f'src="../../../../{LOCAL_LOGO}"' in offline and "dataContextId" not in offline
    assert "newsletter" not in offline and "https://" not in offline
    assert f'href="{VENDOR}/bootstrap.min.css"' in offline_page(page, 0)
    # GX's own static references, counted from the page's real depth
    gx = '<link rel="shortcut icon" href="../../../static/images/favicon.ico"/><img src="./static/images/x.png">'
    assert offline_page(gx, 4) == (
        '<link rel="shortcut icon" href="../../../../static/images/favicon.ico"/>'
        '<img src="../../../../static/images/x.png">'
    )

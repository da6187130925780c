"""Data Docs that work without internet: what GX's pages load from CDNs, served by the site itself.

GX's pages (GX 1.x as pinned) load jQuery, Bootstrap, bootstrap-table, Font Awesome, Vega...
from public CDNs, GX's logo from GX's bucket (with the site's id in the query), and show
GX's newsletter banner; inside a private network (EMR, MWAA in a VPC) they render unstyled.
Here:

- ``make setup`` fetches those files, pinned by version and sha256, from the npm registry
  into ``spark_jobs/report/static/vendor/`` (``python -m spark_jobs.report.site_assets
  fetch``): packaged with the job (the EMR zip holds them), never downloaded at run time;
- each HTML page GX writes is rewritten (``offline_page``) to load them from the site's
  ``static/vendor/``, by a path relative to the page (GX's own ``static/`` references are
  re-rooted the same way: its run pages count one folder too few), the remote logo becomes
  GX's own packaged one, and the banner goes; the files are put in the site once
  (``data_docs._copy_vendor_files``).

Why by hand: GX has no setting for its CDN URLs (they are in its Jinja templates).
A GX upgrade that changes them leaves a remote URL in a page, which
``tests/integration/test_data_docs.py`` finds.
"""

from __future__ import annotations

import hashlib
import io
import re
import sys
import tarfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
VENDOR = "static/vendor"
"""Where the files are, under the site's root and under this package."""


@dataclass(frozen=True)
class VendorFile:
    package: str
    """``<name>/-/<name>-<version>`` of the npm registry (its tarball)."""
    member: str
    """The file in the tarball (under ``package/``)."""
    path: str
    """Its path under ``static/vendor/``."""
    sha256: str
    cdn: tuple[str, ...] = ()
    """The URLs GX's pages load it from."""


FILES: tuple[VendorFile, ...] = (
    VendorFile(
        "jquery/-/jquery-3.7.1",
        "dist/jquery.min.js",
        "jquery.min.js",
        "fc9a93dd241f6b045cbff0481cf4e1901becd0e12fb45166a8f17f95823f0b1a",
        ("https://code.jquery.com/jquery-3.7.1.min.js",),
    ),
    VendorFile(
        "bootstrap/-/bootstrap-4.3.1",
        "dist/css/bootstrap.min.css",
        "bootstrap.min.css",
        "60b19e5da6a9234ff9220668a5ec1125c157a268513256188ee80f2d2c8d8d36",
        ("https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css",),
    ),
    VendorFile(
        "bootstrap/-/bootstrap-4.3.1",
        "dist/js/bootstrap.min.js",
        "bootstrap.min.js",
        "0a34a87842c539c1f4feec56bba982fd596b73500046a6e6fe38a22260c6577b",
        ("https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js",),
    ),
    VendorFile(
        "popper.js/-/popper.js-1.12.9",
        "dist/umd/popper.min.js",
        "popper.min.js",
        "a52f7aa54d7bcaafa056ee0a050262dfc5694ae28dee8b4cac3429af37ff0d66",
        ("https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js",),
    ),
    VendorFile(
        "bootstrap-table/-/bootstrap-table-1.19.1",
        "dist/bootstrap-table.min.js",
        "bootstrap-table.min.js",
        "06a571a9beb50bd5ddd60517159775dfec1f3e798fff38fb117ae2350dc9ba9d",
        ("https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js",),
    ),
    VendorFile(
        "bootstrap-table/-/bootstrap-table-1.19.1",
        "dist/bootstrap-table.min.css",
        "bootstrap-table.min.css",
        "643f536f6982af4d7287af23f89ad457dd7e4a82f9c695330a112b0881c30a4a",
        ("https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css",),
    ),
    VendorFile(
        "bootstrap-table/-/bootstrap-table-1.19.1",
        "dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
        "bootstrap-table-filter-control.min.js",
        "111f68d31d1bdd714f9503bf5f4e162e0739c363e4ff2feef950d39e78266ffc",
        (
            "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
        ),
    ),
    VendorFile(
        "bootstrap-table/-/bootstrap-table-1.19.1",
        "dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
        "bootstrap-table-filter-control.min.css",
        "be4e0c0d11f9319f1ad191f7447a38f755728bbaa10903e469f367441ba79ae2",
        (
            "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css",
            "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
        ),
    ),
    VendorFile(
        "bootstrap-datepicker/-/bootstrap-datepicker-1.9.0",
        "dist/js/bootstrap-datepicker.min.js",
        "bootstrap-datepicker.min.js",
        "6ea55ea86749ee1fe560fabac6b3effd81b33046fa74dc657e24d41d28110a9f",
        ("https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js",),
    ),
    VendorFile(
        "bootstrap-datepicker/-/bootstrap-datepicker-1.9.0",
        "dist/css/bootstrap-datepicker.min.css",
        "bootstrap-datepicker.min.css",
        "b22c8ea45fe905650f8087108b5ed32c1923bcd80d400adc9b0241f18be40208",
        ("https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css",),
    ),
    VendorFile(
        "@forevolve/bootstrap-dark/-/bootstrap-dark-1.1.0",
        "dist/css/bootstrap-prefers-dark.css",
        "bootstrap-prefers-dark.css",
        "b087541364cdc7e95cbf71be42da5259f3d11431cc84198c17b47cd44c87cd5b",
        ("https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css",),
    ),
    VendorFile(
        "vega/-/vega-5.33.1",
        "build/vega.min.js",
        "vega.min.js",
        "463f3db6a40b20e9747b4ed38f37ed0add508838f9141b1cf8366784b07b30c8",
        ("https://cdn.jsdelivr.net/npm/vega@5",),
    ),
    VendorFile(
        "vega-lite/-/vega-lite-5.23.0",
        "build/vega-lite.min.js",
        "vega-lite.min.js",
        "58c27358e26f2d319cf62f45bc17a4c8362f08645001df2ec8d341eee4097c7f",
        ("https://cdn.jsdelivr.net/npm/vega-lite@5",),
    ),
    VendorFile(
        "vega-embed/-/vega-embed-6.29.0",
        "build/vega-embed.min.js",
        "vega-embed.min.js",
        "12d02acfbe3ec59ef9a37dd4822a2e04e2961b5bbb671bbe661d2221715b99da",
        ("https://cdn.jsdelivr.net/npm/vega-embed@6",),
    ),
    VendorFile(
        "@fortawesome/fontawesome-free/-/fontawesome-free-6.6.0",
        "css/all.min.css",
        "fontawesome/css/all.min.css",
        "e5e202e3c899507992952533f57b634722b69b34241d271963559d31aa33ef81",
        ("https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css",),
    ),
    VendorFile(
        "@fortawesome/fontawesome-free/-/fontawesome-free-6.6.0",
        "webfonts/fa-brands-400.woff2",
        "fontawesome/webfonts/fa-brands-400.woff2",
        "c411f11975d26eb04cd2aa3c071181d4b18e489f1fb97060d4176a3531dfb36e",
        (),
    ),
    VendorFile(
        "@fortawesome/fontawesome-free/-/fontawesome-free-6.6.0",
        "webfonts/fa-regular-400.woff2",
        "fontawesome/webfonts/fa-regular-400.woff2",
        "c732f106e91bc618767fbac8e2c7b27e5c736d477b2bb4fb83f597a43198c33c",
        (),
    ),
    VendorFile(
        "@fortawesome/fontawesome-free/-/fontawesome-free-6.6.0",
        "webfonts/fa-solid-900.woff2",
        "fontawesome/webfonts/fa-solid-900.woff2",
        "1f0189e087fcefbf654fad74a3a06668b782c01353a61d5c0b7f0bf23e33c020",
        (),
    ),
    VendorFile(
        "@fortawesome/fontawesome-free/-/fontawesome-free-6.6.0",
        "webfonts/fa-v4compatibility.woff2",
        "fontawesome/webfonts/fa-v4compatibility.woff2",
        "2aca24b35bd41474dcc5e7fb5f11ec43fa06e3ac1d0035ad41108fa6b30b0871",
        (),
    ),
)
GX_LOGO = re.compile(r"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/[^\"')\s]*")
"""GX's logo in its bucket (the query carries the site's data context id)."""
LOCAL_LOGO = "static/images/logo-long-vector.svg"
"""GX's own logo, which GX copies into every site's static/images."""
NEWSLETTER = re.compile(r"<footer>\s*<p>Stay current on everything GX.*?</footer>", re.DOTALL)
LOCAL_STATIC = re.compile(r"""(?P<before>(?:src|href)=["']|url\(["']?)(?:\./|\.\./)*static/""")
"""A page's reference to the site's ``static/``: GX's templates count one folder too few on
run pages (``../../../static`` four folders down), so its own favicon and styles miss."""
SRI = re.compile(r'\s+integrity="[^"]*"\s+crossorigin="anonymous"')
"""CDN subresource-integrity attributes: the files are checked (sha256) when fetched instead."""


def offline_page(html: str, depth: int) -> str:
    """``html`` of a page ``depth`` folders below the site's root, loading nothing remote."""
    up = "../" * depth
    for vendor in FILES:
        for url in vendor.cdn:
            html = html.replace(f'"{url}"', f'"{up}{VENDOR}/{vendor.path}"')
    html = LOCAL_STATIC.sub(lambda m: f"{m['before']}{up}static/", html)
    html = GX_LOGO.sub(f"{up}{LOCAL_LOGO}", html)
    html = NEWSLETTER.sub("", html)
    return SRI.sub("", html)


def packaged_files() -> Iterator[tuple[str, bytes]]:
    """``(path under the site's root, bytes)`` of every vendored file (from a folder or the EMR zip)."""
    root = resources.files("spark_jobs.report").joinpath("static", "vendor")
    for vendor in FILES:
        yield f"{VENDOR}/{vendor.path}", root.joinpath(*vendor.path.split("/")).read_bytes()


def fetch(dest: Path) -> list[str]:
    """Download every file into ``dest`` (skip those present and intact); the paths written."""
    written, tarballs = [], {}
    for vendor in FILES:
        target = dest / vendor.path
        if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == vendor.sha256:
            continue
        if vendor.package not in tarballs:
            url = f"{REGISTRY}/{vendor.package}.tgz"
            with urllib.request.urlopen(url, timeout=120) as response:
                tarballs[vendor.package] = response.read()
        with tarfile.open(fileobj=io.BytesIO(tarballs[vendor.package])) as tar:
            member = tar.extractfile(f"package/{vendor.member}")
            if member is None:
                raise FileNotFoundError(f"{vendor.package}.tgz has no package/{vendor.member}")
            data = member.read()
        digest = hashlib.sha256(data).hexdigest()
        if digest != vendor.sha256:
            raise ValueError(f"{vendor.package}.tgz: {vendor.member} has sha256 {digest}, expected {vendor.sha256}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(str(target))
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["fetch"]:
        print("usage: python -m spark_jobs.report.site_assets fetch", file=sys.stderr)
        return 2
    dest = Path(__file__).parent / "static" / "vendor"
    written = fetch(dest)
    print(f"Data Docs vendor files: {len(written)} fetched, {len(FILES) - len(written)} already there ({dest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run one browser scenario (`scenarios.py`) in a process of its own: `python -m
tests.browser.run_scenario NAME '{"base": ..., ...}'`; exit 0 if it passed, 1 with its traceback.

The tests' own process runs the services on eventlet (tests/conftest.py patches it at import),
and Playwright's synchronous API, an asyncio loop, cannot run under that patch: so the browser is
driven from here, a plain Python process, while the test waits for it cooperatively."""

from __future__ import annotations

import importlib
import json
import sys
import traceback

from playwright.sync_api import sync_playwright

from tests.browser import scenarios


def main(name: str, data: dict) -> int:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=data["chromium"], args=["--no-sandbox"])
        context = browser.new_context(viewport=scenarios.VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
        page = context.new_page()
        page.set_default_timeout(15000)
        try:
            # "name" is in scenarios.py; "module.name" in tests/browser/module.py
            module_name, _, function = name.rpartition(".")
            module = importlib.import_module(f"tests.browser.{module_name}") if module_name else scenarios
            getattr(module, function)(page, data)
        except Exception:  # noqa: BLE001 - reported to the test, which fails with it
            traceback.print_exc()
            try:
                page.screenshot(path=f"/tmp/ehr-browser-{name}-failed.png", full_page=True)
                print(f"page at failure: {page.url} (screenshot /tmp/ehr-browser-{name}-failed.png)", file=sys.stderr)
            except Exception:  # noqa: BLE001
                pass
            return 1
        finally:
            context.close()
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], json.loads(sys.argv[2])))

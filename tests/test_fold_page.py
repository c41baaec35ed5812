"""The page unfolds repeated blocks: a folded block's control lists its instances; choosing one
shows every instance with the chosen one selected, and "fold repeats" goes back."""

from __future__ import annotations

import pytest
from gpt_blocks import gpt_trace
from test_html_page import browser, opened  # noqa: F401 (the browser fixture)

from gradviz.viz.page.html import write_html

pytestmark = pytest.mark.browser


def test_a_folded_block_unfolds_to_any_instance_and_folds_back(browser, tmp_path):  # noqa: F811
    path = tmp_path / "gpt.html"
    write_html(gpt_trace(4), path, depth=2)
    page = opened(browser, path)
    shown = "svg.view-forward:visible"
    text = page.locator(shown).text_content()
    assert "blocks.0\u20133" in text
    assert "\u00d74" in text
    assert page.locator(f'{shown} g.node:has-text("blocks.2.attn")').count() == 0
    assert "repeats folded" in page.eval_on_selector(
        "#depth", "s => s.options[s.selectedIndex].textContent"
    )
    page.locator(f"{shown} g.fold-ctl").click()
    items = page.locator("#fold-menu button")
    assert items.all_text_contents() == [
        "blocks.0  (drawn)",
        "blocks.1",
        "blocks.2",
        "blocks.3",
    ]
    items.nth(2).click()
    assert page.locator("#fold-menu").count() == 0
    assert page.locator(f'{shown} g.node:has-text("blocks.2.attn")').count() == 1
    assert page.locator("#info-body .name").first.text_content() == "blocks.2"
    assert page.locator(f"{shown} g.node.sel").count() >= 1
    page.locator("#fold-bar button").click()
    assert page.locator("#fold-bar").count() == 0
    assert page.locator(f'{shown} g.node:has-text("blocks.2.attn")').count() == 0
    assert page.problems == []
    page.close()

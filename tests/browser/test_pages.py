from tests.browser.conftest import assert_accessible


def test_smoke(page, page_no_js):
    for p in (page, page_no_js):
        p.goto("/")
        print(p.title())
        assert_accessible(p)

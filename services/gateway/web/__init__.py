"""The web pages for township and village staff, in Chinese, served by the gateway under `/web/`.

Where a page's code lives:

    web/pages/<area>.py    the pages of one area: a `Page` (method, path, handler) each, in `PAGES`
                           (auth: sign in and out; archives: search, create, the archive;
                           records: a record, forms, amending, entered-in-error; programmes: the
                           work list, suggestions to confirm, an archive's programmes; prints: the
                           信息卡, the 封面 and the resident's full copy as print pages and PDF;
                           referrals: the 双向转诊 inbox, a referral and its moves, the 转出单,
                           consultations; lifecycle: terminate,
                           reactivate, transfers, merges, identity correction; operations: the
                           quarantine and pending encounters; sync: the upload to the regional platform
                           (区域平台上传); indicators: the 考核指标 with their
                           charts; static)
    web/templates/         their Jinja2 templates (autoescaped), `base.html` around each
    web/static/            the CSS and the one small script, with their licence (no CDN)
    web/forms.py           form pages drawn from the published schemas (shared/schemas/forms/)
    web/labels.py          the forms' Chinese field labels
    web/charts.py          the indicators' charts as inline SVG (geometry; markup in charts.html)
    web/tcm.py             the 中医药健康管理服务记录表 laid out as its paper form (records.LAYOUTS)
    web/page.py            how a page runs: the session, CSRF, the API routes it shows, the headers

A page has no access rules of its own: it runs the API routes whose answers it shows, by name
(`c.api("get_archive", archive_no=...)`), through the gateway's gate as the session's user, so
the access matrix, the scope, out-of-scope grants and the audit trail are the API's (see
`page.py`). Sessions are the gateway's (`services/gateway/sessions.py`, table `web_sessions`).

Adding a page: a `Page` in its area's `PAGES` and a template; `service.py` makes the entrypoint.
A new form needs no page code: its schema in `shared/schemas/forms/` gives its page, and its
labels go into `labels.py`.
"""

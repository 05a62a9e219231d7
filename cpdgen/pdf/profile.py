"""The HCPC CPD profile as a PDF: the profile (``hcpc.py``) in ``templates/pdf/hcpc-profile.html``.

It is laid out like the diploma record (``layout.py``: a child process under limits, tagged
PDF/UA, fixed font dates, the restricted fetcher) with the evidence of the listed activities
attached, images without their metadata (``privacy.images.clean_evidence``), each named
after its number in the evidence index (``E3-certificate.pdf``).
"""

from __future__ import annotations

from markupsafe import Markup

from cpdgen.hcpc import Listed, Profile, plain_facts, row_facts
from cpdgen.pdf import layout
from cpdgen.pdf.document import BASE_SECONDS, PER_ACTIVITY_SECONDS, Attachments, load_theme, theme_files
from cpdgen.pdf.layout import PdfJob
from cpdgen.pdf.references import Collector
from cpdgen.pdf.resources import virtual_url
from cpdgen.portfolio import MemberText, Portfolio
from cpdgen.words import long_date, short_date

TEMPLATE = "pdf/hcpc-profile.html"
STYLESHEETS = ("pdf/pdf.css", "pdf/profile.css")
JOB_NAME = "hcpc-profile"


def prepare_profile_pdf(portfolio: Portfolio, profile: Profile) -> PdfJob:
    """The filled template and every file the PDF will read, checked; nothing is laid out yet.

    ``job.problems`` lists what would be missing from the PDF (errors) or left out of it (warnings).
    """
    from cpdgen.render import fill_template

    content_real = portfolio.content.resolve()
    theme = load_theme(portfolio.root, STYLESHEETS)
    collector = Collector(portfolio.root, content_real)
    attachments = Attachments()
    evidence = []
    for item in profile.evidence:
        attached = None
        if item.evidence.path is not None:
            attached = attachments.add(
                item.evidence.path, item.evidence.rel or item.evidence.ref, item.activity, collector, f"{item.label}-"
            )
        evidence.append(
            {
                "label": item.label,
                "name": item.evidence.name,
                "url": item.evidence.url,
                "attachment": attached,
                "listed": item.listed,
                "title": item.activity.title,
                "date": short_date(item.activity.date),
                "cited": item.cited_in_statement,
                "selected": item.activity.id in {s.activity.id for s in profile.selected},
            }
        )
    context = plain_facts(profile)
    context.update(
        {
            "summary": _markdown(collector, profile.texts.get("summary")),
            "statement": _markdown(collector, profile.texts.get("statement")),
            "gaps": [_gap_context(collector, profile, n) for n in range(len(profile.gaps))],
            "selected": [_selected_context(collector, item) for item in profile.selected],
            "evidence": evidence,
            "attachments": attachments.items,
        }
    )
    html = fill_template(theme.env, TEMPLATE, context)
    job = PdfJob(
        diploma_id=JOB_NAME,
        public=False,
        html=html,
        css=theme.css,
        css_base_url=theme.css_base_url,
        base_url=virtual_url("content", ""),
        roots={"content": content_real, **theme.roots},
        attachments=tuple(attachments.items),
        timeout=BASE_SECONDS + PER_ACTIVITY_SECONDS * len(profile.listed),
        problems=collector.problems,
        sources=collector.sources,
        theme_path=theme.path,
        root=portfolio.root,
    )
    job.key = layout.cache_key(job, {**collector.files, **theme_files(theme.roots)})
    return job


def render_profile_pdf(portfolio: Portfolio, profile: Profile) -> bytes:
    """The profile's PDF; ProblemsFound listing every image or file it could not include."""
    return layout.pdf_bytes(prepare_profile_pdf(portfolio, profile))


def _markdown(collector: Collector, text: MemberText | None, body: str | None = None, line: int = 1) -> Markup | None:
    if text is None:
        return None
    return collector.markdown(body if body is not None else text.text, text.source, text.path, line)


def _gap_context(collector: Collector, profile: Profile, index: int) -> dict:
    gap = profile.gaps[index]
    member_text = profile.texts.get("gaps")
    explanations = [_markdown(collector, member_text, s.text, s.line + 1) for s in gap.explanations]
    return {
        "first": long_date(gap.first),
        "last": long_date(gap.last),
        "months": gap.months,
        "after": gap.after.title if gap.after else None,
        "before": gap.before.title if gap.before else None,
        "explanations": [e for e in explanations if e is not None],
    }


def _selected_context(collector: Collector, item: Listed) -> dict:
    activity = item.activity
    description = collector.markdown(activity.description, activity.source, activity.path, activity.description_line)
    reflection = None
    if activity.has_reflection and activity.reflection is not None:
        where = activity.reflection_path or activity.path
        reflection = collector.markdown(activity.reflection, collector.root / where, where, activity.reflection_line)
    return {**row_facts(item), "description": description, "reflection": reflection}

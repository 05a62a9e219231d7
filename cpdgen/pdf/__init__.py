"""The PDF diploma record under WeasyPrint, which reads only what cpdgen lets it read.

- ``document``: the diploma record's content and template, as a job ready to lay out;
- ``layout``: WeasyPrint under time and memory limits, and the PDF cache;
- ``references``: what a member's Markdown points at, checked for the PDF;
- ``resources``: the local files a PDF may read, checked (size, pixels, SVG shapes);
- ``fetcher``: the only way WeasyPrint reads anything (imports WeasyPrint).

This family never imports the site.
"""

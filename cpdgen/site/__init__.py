"""The HTML portfolio site, and the dev server that shows it while a member writes.

- ``plan``: which pages, copied files and downloads the site has, with each page's plain data;
- ``charts``: the numbers behind the dashboard's two charts;
- ``renderer``: a planned site written into a folder, reusing unchanged files;
- ``build``: ``cpdgen build`` (gather, then write into a temporary folder and swap it in);
- ``stamp``: a build with nothing changed since the last one is skipped;
- ``serve`` and ``devserver``: ``cpdgen serve`` (a private build kept up to date, served with live reload).
"""

"""Keeping patient identifiers and private details out of what a member publishes.

- ``identifiers``: the rules that spot an identifier in a text (NHS and CHI numbers with
  their check digits, dates of birth, names, postcodes…), and masking;
- ``scan``: every text of a portfolio scanned with those rules, as problems with file and line;
- ``images``: the one image-metadata stripper, used for the site's copies and the PDF's alike.

This family reads the portfolio's records; it never imports the site or the PDF.
"""

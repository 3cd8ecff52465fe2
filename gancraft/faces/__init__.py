"""Faces in real photos: detection (Haar cascades), alignment to a model's crop geometry,
blending results back, curation of photo folders, and world scenes with known answers.

Detection needs the ``tryon`` extra (``opencv-python-headless>=4.8,<5``), imported on use.
"""

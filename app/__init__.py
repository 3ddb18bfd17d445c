"""The SegLab dashboard's glue between Streamlit and segcore; pages/ holds the pages themselves.

shell             page registry, navigation, the settings every page reads first
settings          folders from the environment; plain-words accounts of what they hold (no Streamlit)
pickers           pickers several pages share: a configured data folder, the runs to show
loaders           cached readers of the folders: overviews, samples, image pairs, histories, evaluations
uploads           uploaded bytes decoded into images and masks (cached)
predictions       cached Predictors and their label maps
cache_budget      the byte cap of every cache, within the README's 4 GB per instance
lab               the Augmentation Lab's step list, widget values and tables (no Streamlit)
lab_widgets       the Augmentation Lab's widget blocks
image_sources     the Side by Side page's images: uploads or a data folder, with their ground truths
evaluation_views  the Evaluation page's form, stored results, confusion picker and pictures
confusion_clicks  clickable confusion-matrix cells and Plotly selection events (no Streamlit)

Pages import these as `from app import shell, loaders`. The repository root is on sys.path whenever a page
runs: `streamlit run streamlit_app.py` puts the entry script's folder there, and `python -m pytest` run from
the root puts the working directory there (AppTest runs pages/*.py directly).
"""

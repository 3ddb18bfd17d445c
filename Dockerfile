# SegLab dashboard: the pinned requirements, the shipped models and sample data, served by Streamlit on 8501.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NO_ALBUMENTATIONS_UPDATE=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    SEGLAB_MODELS_DIR=/app/models \
    SEGLAB_DATA_DIR=/app/data/sample

WORKDIR /app

# Dependencies first, so code changes don't reinstall TensorFlow.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY pyproject.toml README.md ./
COPY segcore/ segcore/
RUN pip install --no-cache-dir --no-deps .

COPY .streamlit/ .streamlit/
COPY streamlit_app.py ./
COPY app/ app/
COPY pages/ pages/
COPY assets/ assets/
COPY models/ models/
COPY data/sample/ data/sample/
COPY data/pipelines/ data/pipelines/

RUN useradd --create-home --uid 10001 seglab && chown -R seglab:seglab /app
USER 10001:10001

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status != 200)"]
# No tracebacks (server paths) in visitors' browsers: unexpected errors show their type only.
CMD ["streamlit", "run", "streamlit_app.py", "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true", \
     "--client.showErrorDetails=type"]

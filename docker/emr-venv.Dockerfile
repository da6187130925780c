# The job's Python environment for EMR Serverless, built on the OS of EMR 7.x (Amazon
# Linux 2023) so compiled wheels and the interpreter match the workers:
#
#   docker build -f docker/emr-venv.Dockerfile --platform linux/amd64 --output type=local,dest=build/emr .
#
# -> build/emr/pyspark_deps.tar.gz, shipped with `spark.archives=...#environment` and
# PYSPARK_PYTHON=./environment/bin/python (lakehouse_unified.job_arguments). Python 3.11 is
# built from source (static: no libpython.so needed) with its standard library copied into
# the venv (EMR 7 images only have 3.9), as AWS's EMR Serverless samples do.
# Use --platform linux/arm64 for Graviton applications.
ARG PYTHON_VERSION=3.11.13

FROM amazonlinux:2023 AS build
ARG PYTHON_VERSION
RUN dnf install -y gcc make tar gzip wget openssl-devel bzip2-devel libffi-devel zlib-devel \
        xz-devel sqlite-devel readline-devel \
    && dnf clean all
RUN wget -q https://www.python.org/ftp/python/${PYTHON_VERSION}/Python-${PYTHON_VERSION}.tgz \
    && tar xzf Python-${PYTHON_VERSION}.tgz \
    && cd Python-${PYTHON_VERSION} \
    && ./configure --prefix=/usr/local --with-ensurepip=install \
    && make -j"$(nproc)" \
    && make install \
    && cd / && rm -rf Python-${PYTHON_VERSION}*
RUN /usr/local/bin/python3.11 -m venv --copies /venv \
    && cp -r /usr/local/lib/python3.11/* /venv/lib/python3.11/
COPY spark_jobs/requirements.txt constraints.txt /tmp/
RUN /venv/bin/pip install --no-cache-dir venv-pack==0.2.0 -r /tmp/requirements.txt -c /tmp/constraints.txt \
    && mkdir /out \
    && /venv/bin/venv-pack -f -o /out/pyspark_deps.tar.gz -p /venv

FROM scratch AS export
COPY --from=build /out/pyspark_deps.tar.gz /

"""MLflow models-from-code entry point of the registered pyfunc model (read by MLflow only)."""

from mlflow.models import set_model

from forecasting.tracking import ForecastModel

set_model(ForecastModel())

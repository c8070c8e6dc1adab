"""Design facts computed exactly from the designer's question (contrast, paper sizes, text size, conversions,
resolution), given to the model as context and returned to the client."""

from .measure import MAX_FACTS, measure
from .model import Fact

__all__ = ["MAX_FACTS", "Fact", "measure"]

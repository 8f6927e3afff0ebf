from services.con.models import Base
from shared.db.migrate import run_env

run_env(Base.metadata)

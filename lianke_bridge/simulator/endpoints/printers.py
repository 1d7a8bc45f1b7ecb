"""The handlers of the printer and model calls: the printer list, params, paper sizes, models."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from lianke_bridge.cloud import codes
from lianke_bridge.simulator import catalog
from lianke_bridge.simulator.answers import BAD_PARAMETER, ApiRefusalError, ok
from lianke_bridge.simulator.endpoints.base import Endpoints
from lianke_bridge.simulator.params import (
    json_fields,
    param_int,
    param_text,
    query_params,
)


class PrinterEndpoints(Endpoints):
    """printer_list, printer_params, paper_dimension_list, printer_enum (GET and POST)."""

    def model_kind(self, model: str) -> codes.PrinterKind | None:
        """The kind of a fleet printer with this model, so any fleet model has params."""
        for box in self.sim.fleet.boxes:
            for printer in box.printers:
                if printer.driver_name == model:
                    return printer.kind
        return None

    async def printer_list(self, request: web.Request) -> web.Response:
        """GET printer_list: plugged printers, by printerType (1 USB, 2 network, 3 both)."""
        params = query_params(request)
        box = self.box(params)
        printer_type = param_int(params, "printerType", codes.PrinterType.USB)
        if printer_type not in tuple(codes.PrinterType):
            raise ApiRefusalError(BAD_PARAMETER, "printerType参数错误")
        rows = []
        for printer in box.printers.values():
            spec = printer.spec
            wanted = codes.PrinterType.NETWORK if spec.is_network else codes.PrinterType.USB
            if not printer.plugged or box.never_booted or printer_type not in (wanted, 3):
                continue
            row: dict[str, Any] = {
                "MDL": spec.product,
                "device": None,
                "drivce_name": spec.driver_name,
                "driver_name": spec.driver_name,
                "driver_type": spec.driver_type,
                "id": spec.printer_id,
                "idProduct": None,
                "idVendor": None,
                "isPrinter": 1,
                "port": spec.port,
                "printer_name": spec.printer_name or spec.driver_name,
                "printer_state": printer.list_state(),
                "product": spec.product,
                "species": spec.species,
                "support_status": spec.support_status,
                "vendor": None,
            }
            if spec.is_network:
                row["ip_addr"] = spec.ip_addr
                row["markers"] = [m.to_api() for m in spec.markers]
            rows.append(row)
        return ok({"row": rows, "total": len(rows)}, msg=False)

    def _model(self, request: web.Request) -> tuple[str, codes.PrinterKind | None]:
        model = param_text(query_params(request), "printerModel")
        if not model:
            raise ApiRefusalError(BAD_PARAMETER, "printerModel参数不能为空")
        return model, self.model_kind(model)

    async def printer_params(self, request: web.Request) -> web.Response:
        """GET printer_params of a model."""
        model, kind = self._model(request)
        data = catalog.printer_params(model, kind)
        if data is None:
            raise ApiRefusalError(BAD_PARAMETER, "暂不支持该打印机型号")
        return ok(data)

    async def paper_dimension_list(self, request: web.Request) -> web.Response:
        """GET paper_dimension_list of a model."""
        model, kind = self._model(request)
        data = catalog.paper_list(model, kind)
        if data is None:
            raise ApiRefusalError(BAD_PARAMETER, "暂不支持该打印机型号")
        return ok(data)

    def _models(self) -> list[str]:
        fleet_models = tuple(p.driver_name for b in self.sim.fleet.boxes for p in b.printers)
        return catalog.supported_models(fleet_models)

    async def printer_enum(self, _request: web.Request) -> web.Response:
        """GET printer_enum: every supported model."""
        return ok(self._models())

    async def printer_enum_search(self, request: web.Request) -> web.Response:
        """POST printer_enum {"query"}: fuzzy search."""
        query = param_text(json_fields(request), "query")
        return ok(catalog.search_models(query, self._models()) if query else self._models())

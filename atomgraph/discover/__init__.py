"""Novel structures over many frames, grouped: ``atomgraph discover FRAMES... --model M -o DIR``.

Each frame is analyzed (:func:`atomgraph.analyze`); every ``unknown`` defect (connected novel nodes,
:mod:`atomgraph.classify.novelty`) becomes one *group* with a rotation-invariant vector
(:func:`atomgraph.discover.describe.group_vector`). The vectors of all frames are standardized and clustered with
scikit-learn's HDBSCAN (groups in no dense cluster get cluster -1). Outputs (:meth:`Discovery.write`):

``clusters.csv``
    ``cluster,count,frames,exemplar_ids,labels,mean_sites`` — one row per cluster (-1: unclustered last);
    ``exemplar_ids`` are ``frame:defect`` ids (the defect id of that frame's ``defects.csv``) of the groups HDBSCAN
    holds most firmly; ``labels`` the best known labels of the member nodes, most common first.
``groups.csv``
    ``frame,source,defect,cluster,x_px,y_px,x_A,y_A,n_sites,labels,site_ids`` — every group.
``frames.csv``
    ``frame,source,frame_index,n_nodes,n_novel,n_unknown`` and one ``cluster_<k>`` count column per cluster.
``cluster_<k>.png``
    a gallery of up to 8 exemplars: image crop, graph, the group's nodes in red.
"""

from __future__ import annotations

from .run import GALLERY_SIZE, Discovery, Group, cluster_groups, discover, frame_groups

__all__ = ["discover", "Discovery", "Group", "cluster_groups", "frame_groups", "GALLERY_SIZE"]
